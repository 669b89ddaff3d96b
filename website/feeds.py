"""The blog's Atom feed (/blog/feed/): the newest posts on the site, each with its summary
(the description, as text) and its body (rendered by opsx.markdown: sanitised HTML). Links
are on SITE_URL, never the request's Host header."""

from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from opsx import markdown

from . import blog
from .views import absolute


class BlogAtomFeed(Atom1Feed):
    """Atom with each entry's full text in <content type="html">, which Django's Atom1Feed
    does not write (it has the summary only)."""

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        if item.get("content"):
            handler.addQuickElement("content", item["content"], {"type": "html"})


class BlogFeed(Feed):
    feed_type = BlogAtomFeed
    title = "The OpsX blog"
    subtitle = "News and field notes from the OpsX team at HexCM."
    author_name = "HexCM"

    def link(self):
        return absolute(reverse("blog"))

    def feed_url(self):
        return absolute(reverse("blog_feed"))

    def items(self):
        return blog.feed_posts()

    def item_title(self, item):
        return item.title

    def item_link(self, item):
        return absolute(reverse("blog_post", args=[item.slug]))

    def item_description(self, item):
        # Atom's <summary type="html">: the description is plain text, so it goes escaped.
        return escape(item.description)

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return max(item.updated_at, item.published_at)

    def item_author_name(self, item):
        return item.author.full_name if item.author else "HexCM"

    def item_extra_kwargs(self, item):
        return {"content": markdown.render(item.body)}
