"""The public area's reading pages, shared by the page, cookie and CSP tests."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

# Reading pages: no form, so no cookie for an anonymous visitor and no query of their own.
STATIC_PAGES = ["home", "product", "pricing", "contact", "terms", "cookies"]
# Reading pages that read the database: the policy versions, the lists staff keep, the blog.
DATA_PAGES = ["privacy", "testimonials", "subprocessors", "blog"]
READING_PAGES = STATIC_PAGES + DATA_PAGES
# The community's reading pages that need no row (linked from the main navigation, not the
# footer); the category and topic pages need rows: community_urls().
COMMUNITY_PAGES = ["forum"]

# A post on the site that the crawls open: tests/website/conftest.py publishes it for every
# test that uses the database.
READING_POST_SLUG = "field-notes-from-the-first-month"


def reading_urls() -> list[str]:
    # The first policy version is seeded by privacy's migration 0004.
    return (
        [reverse(name) for name in READING_PAGES]
        + [reverse("privacy_version", args=["1"]), reverse("blog_post", args=[READING_POST_SLUG])]
        + [reverse(name) for name in COMMUNITY_PAGES]
    )


def community_urls() -> list[str]:
    """A forum category and a topic with a reply, and a published blog post, made now (call it
    inside a test with the database): their reading pages' addresses."""
    from website.models import BlogComment, BlogPost, ForumCategory, ForumPost, ForumTopic

    from ..factories import UserFactory

    author = UserFactory(full_name="Paula Poster")
    category = ForumCategory.objects.create(name="Field tips", slug="field-tips")
    topic = ForumTopic.objects.create(
        category=category,
        title="Planning a week of visits",
        slug="planning-a-week-of-visits",
        author=author,
        last_posted_at=timezone.now(),
        reply_count=1,
    )
    ForumPost.objects.create(topic=topic, author=author, body="How do you plan?", is_first=True)
    ForumPost.objects.create(topic=topic, author=author, body="*Mondays* first.")
    post = BlogPost.objects.create(
        title="Hello",
        slug="hello",
        description="Our first post.",
        body="Hello.",
        status=BlogPost.Status.PUBLISHED,
        published_at=timezone.now() - timedelta(hours=1),
    )
    BlogComment.objects.create(post=post, author=author, body="Nice **post**.")
    return [category.get_absolute_url(), topic.get_absolute_url()]
