"""The public area's reading pages, shared by the page, cookie and CSP tests."""

from django.urls import reverse

# Reading pages: no form, so no cookie for an anonymous visitor and no query of their own.
STATIC_PAGES = ["home", "product", "pricing", "contact", "terms", "cookies"]
# Reading pages that read the database: the policy versions, the lists staff keep, the blog.
DATA_PAGES = ["privacy", "testimonials", "subprocessors", "blog"]
READING_PAGES = STATIC_PAGES + DATA_PAGES

# A post on the site that the crawls open: tests/website/conftest.py publishes it for every
# test that uses the database.
READING_POST_SLUG = "field-notes-from-the-first-month"


def reading_urls() -> list[str]:
    # The first policy version is seeded by privacy's migration 0004.
    return [reverse(name) for name in READING_PAGES] + [
        reverse("privacy_version", args=["1"]),
        reverse("blog_post", args=[READING_POST_SLUG]),
    ]
