import pytest

from tests.factories import BlogPostFactory

from .pages import READING_POST_SLUG


@pytest.fixture(autouse=True)
def reading_post(request):
    """The published post that reading_urls() lists, for each test that uses the database
    (the others cannot open pages that read it)."""
    uses_db = {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db and not request.node.get_closest_marker("django_db"):
        return None
    request.getfixturevalue("transactional_db" if "transactional_db" in uses_db else "db")
    return BlogPostFactory(
        slug=READING_POST_SLUG,
        author=None,  # "the OpsX team": no user row more than the test made
        title="Field notes from the first month",
        body="## What we saw\n\nTeams plan visits the evening before.\n\n### On the road\n\nMore.",
    )
