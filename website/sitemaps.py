"""The sitemap of the public area (/sitemap.xml): the reading pages, the blog and each post
on the site with its last change, the forum's categories and shown topics. Addresses on SITE_URL, never the request's Host header."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from . import blog
from .models import ForumCategory, ForumTopic

# The public reading pages (tests/website/pages.py READING_PAGES, and the blog's list).
PAGES = [
    "home",
    "product",
    "pricing",
    "contact",
    "terms",
    "cookies",
    "privacy",
    "testimonials",
    "subprocessors",
    "blog",
    "forum",
]


class OurHostSitemap(Sitemap):
    def get_domain(self, site=None):
        return urlsplit(settings.SITE_URL).netloc

    def get_protocol(self, protocol=None):
        return urlsplit(settings.SITE_URL).scheme


class PagesSitemap(OurHostSitemap):
    def items(self):
        return PAGES

    def location(self, item):
        return reverse(item)


class BlogSitemap(OurHostSitemap):
    limit = 1000  # posts per sitemap page (the protocol allows 50,000)

    def items(self):
        return blog.published_posts()

    def location(self, item):
        return reverse("blog_post", args=[item.slug])

    def lastmod(self, item):
        return max(item.updated_at, item.published_at)


class ForumCategorySitemap(OurHostSitemap):
    def items(self):
        return ForumCategory.objects.only("slug")

    def location(self, item):
        return item.get_absolute_url()


class ForumTopicSitemap(OurHostSitemap):
    """The forum's shown topics, the latest activity first; each page of the sitemap is one
    slice of the query."""

    limit = 5000

    def items(self):
        return (
            ForumTopic.objects.filter(hidden=False)
            .only("pk", "slug", "last_posted_at")
            .order_by("-last_posted_at", "-pk")
        )

    def location(self, item):
        return item.get_absolute_url()

    def lastmod(self, item):
        return item.last_posted_at


SITEMAPS = {
    "pages": PagesSitemap,
    "blog": BlogSitemap,
    "forum": ForumCategorySitemap,
    "topics": ForumTopicSitemap,
}
