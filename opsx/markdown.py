"""Markdown that staff write (privacy policy versions), rendered to HTML safe to show anyone.

Two locks, each enough on its own for what it covers:

- markdown-it-py parses CommonMark with raw HTML switched off, so `<script>` or `<img onerror>`
  in the text comes out as escaped text, and it refuses link targets such as `javascript:`,
  `vbscript:`, `file:` and `data:`. Linkify is off: only links written as links become links.
- nh3 (the Rust ammonia sanitiser) then keeps only the tags and attributes listed here, links
  only to http(s), mailto or a path of ours, and stamps every link rel="nofollow noopener". It
  guards against a parser bug or a rule enabled later; bleach, the old choice, is deprecated.

Images are not allowed: a policy needs none, and an image is a request to wherever it points.
`render_community` (forum posts and blog comments) turns image syntax into a plain link to the
picture, labelled with its description, so the reader chooses to open it and no page loads it;
and shows headings as bold paragraphs, so a post cannot add an <h1> to the page or break the
order of its headings. `inventory` counts the links and images of a text for
the community's limits on new accounts.
"""

from html import escape

import nh3
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

TAGS = frozenset(
    {
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "p",
        "br",
        "ul",
        "ol",
        "li",
        "a",
        "em",
        "strong",
        "code",
        "pre",
        "blockquote",
        "hr",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    }
)
# rel is not listed: nh3 sets it on every link (link_rel) and refuses a rel in this map.
ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener"

_parser = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def _image_as_link(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env).strip() or "a picture"
    return f'<a href="{escape(token.attrGet("src") or "", quote=True)}">Image: {escape(alt)}</a>'


_community_parser = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_community_parser.add_render_rule("image", _image_as_link)
_community_parser.add_render_rule("heading_open", lambda *args: "<p><strong>")
_community_parser.add_render_rule("heading_close", lambda *args: "</strong></p>\n")


def render(text: str) -> SafeString:
    """The HTML of Markdown `text`, sanitised and marked safe for templates."""
    return sanitise(_parser.render(text or ""))


def render_community(text: str) -> SafeString:
    """`render` for what members write: images become links to them, headings bold text."""
    return sanitise(_community_parser.render(text or ""))


def inventory(text: str) -> tuple[int, int]:
    """(links, images) the Markdown `text` makes: what the parser turns into a link or an
    image, not whatever looks like an address (linkify is off: a bare address stays text)."""
    links = images = 0
    for block in _parser.parse(text or ""):
        for token in block.children or []:
            links += token.type == "link_open"
            images += token.type == "image"
    return links, images


def sanitise(html: str) -> SafeString:
    """`html` with only the allowed tags, attributes and link schemes left."""
    clean = nh3.clean(
        html,
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )
    return mark_safe(clean)  # noqa: S308 -- sanitised by nh3 just above


def admin_preview(text: str) -> SafeString | str:
    """What Django admin's read-only "Preview" field shows of a Markdown body (policy versions,
    newsletter issues, blog posts): the rendered HTML in a styled box, or how to get one."""
    if not text:
        return "Save the draft to see how its body reads."
    return format_html('<div class="policy-preview">{}</div>', render(text))
