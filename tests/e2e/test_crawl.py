"""A crawl of the public area, as an anonymous visitor on a phone (390 px wide).

It starts at / and follows every link to this host found on the pages it opens, except the
signed-in and staff areas (/app/, /admin/, /accounts/), uploaded files (/media/), feeds and
mail addresses: whatever the public area links to is crawled, pages added later (the blog, the
forum) included, with no change here. Each page must answer 200 with our security headers,
make no request to another host, log no console error, pass the accessibility checker (no
violation of serious or critical impact) and not scroll sideways.

A testimonial with its photo and a subprocessor are seeded first, so that those pages show
something.
"""

import io
from urllib.parse import urldefrag, urlsplit

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from privacy import models as privacy_models
from tests.factories import BlogPostFactory, UserFactory
from website.models import BlogComment, ForumCategory, ForumPost, ForumTopic, Subprocessor

from . import axe

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
SKIPPED_PREFIXES = ("/app/", "/admin/", "/accounts/", "/media/")
FEED_ENDINGS = ("/feed/", "/atom/", "/rss/", ".xml", ".atom", ".rss")
# More pages than this means a link generates links (a calendar, a pager gone wrong).
MAX_PAGES = 200

# What opsx sends today on every public page (settings: CONTENT_SECURITY_POLICY, the security
# settings and Django's SecurityMiddleware), header by header; the CSP directive by directive.
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
CSP = {
    "default-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "style-src": {"'self'"},
    "script-src": {"'self'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
    "base-uri": {"'self'"},
}

LINKS = "() => [...document.querySelectorAll('a[href]')].map(a => a.href)"


def csp_directives(header: str) -> dict[str, set[str]]:
    parts = [part.split() for part in header.split(";") if part.strip()]
    return {part[0]: set(part[1:]) for part in parts}


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 96), (30, 90, 160)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def public_content(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    now = timezone.now()
    testimonial = privacy_models.Testimonial(
        quote="OpsX put our 40 field officers on one list of prospects in a week.",
        person_name="Priya Raman",
        person_email="priya@sunrise.example",
        company="Sunrise Traders",
        status=privacy_models.Testimonial.Status.APPROVED,
        consented_at=now,
        published_at=now,
    )
    testimonial.photo.save("priya.png", ContentFile(png()), save=False)
    testimonial.save()
    Subprocessor.objects.create(
        name="Mailjet SAS",
        purpose="Sends the emails OpsX writes: invitations, sign-in links, notices.",
        data_processed="Recipients' email addresses and the messages' content.",
        location="European Union (France, Belgium)",
        website="https://www.mailjet.com/",
    )
    author = UserFactory(full_name="Paula Poster")
    post = BlogPostFactory(
        title="A week of visits", slug="a-week-of-visits", cover_alt="A map with pins"
    )
    post.cover.save("cover.png", ContentFile(png()), save=True)
    BlogComment.objects.create(post=post, author=author, body="We plan on *Sundays*.")
    category = ForumCategory.objects.create(name="Field tips", slug="field-tips")
    topic = ForumTopic.objects.create(
        category=category,
        title="Best time to visit shops",
        slug="best-time-to-visit-shops",
        author=author,
        last_posted_at=now,
        reply_count=1,
    )
    ForumPost.objects.create(topic=topic, author=author, body="Mornings?", is_first=True)
    ForumPost.objects.create(topic=topic, author=author, body="After [ten](https://example.com).")
    return {"testimonial": testimonial, "post": post, "topic": topic}


def followed(url: str, host: str) -> str | None:
    """The page to crawl that a link points to (no fragment), or None when it is not ours."""
    url, _fragment = urldefrag(url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.netloc != host:
        return None  # mailto:, tel:, another host
    if parts.path.startswith(SKIPPED_PREFIXES) or parts.path.endswith(FEED_ENDINGS):
        return None
    return url


def page_problems(page, response, url: str) -> list[str]:
    problems = []
    if response.status != 200:
        return [f"answered {response.status}"]
    headers = response.all_headers()
    for name, value in SECURITY_HEADERS.items():
        if headers.get(name) != value:
            problems.append(f"header {name}: {headers.get(name)!r}, expected {value!r}")
    if csp_directives(headers.get("content-security-policy", "")) != CSP:
        problems.append(f"Content-Security-Policy: {headers.get('content-security-policy')!r}")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > PHONE["width"]:
        problems.append(f"scrolls sideways at {PHONE['width']} px: {scroll_width} px wide")
    found = axe.violations(page)
    if found:
        problems.append("accessibility:\n" + axe.describe(found))
    return problems


def test_every_public_page_is_ours_alone_safe_accessible_and_fits_a_phone(
    page, browser_errors, live_server, public_content
):
    host = urlsplit(live_server.url).netloc
    elsewhere = []
    page.on(
        "request",
        lambda request: (
            elsewhere.append(f"{page.url} -> {request.url}")
            if urlsplit(request.url).scheme in ("http", "https")
            and urlsplit(request.url).netloc != host
            else None
        ),
    )
    page.set_viewport_size(PHONE)
    start = live_server.url + "/"
    queue, seen, problems, images = [start], {start}, {}, set()
    while queue:
        url = queue.pop(0)
        errors_before = len(browser_errors.console) + len(browser_errors.page)
        response = page.goto(url)
        found = page_problems(page, response, url)
        new_errors = (browser_errors.console + browser_errors.page)[errors_before:]
        found += [f"console error: {error}" for error in new_errors]
        if found:
            problems[url] = found
        images.update(page.evaluate("() => [...document.images].map(i => i.currentSrc)"))
        for link in page.evaluate(LINKS):
            target = followed(link, host)
            if target and target not in seen:
                seen.add(target)
                queue.append(target)
        assert len(seen) <= MAX_PAGES, f"more than {MAX_PAGES} public pages: {sorted(seen)}"

    print("crawled:", *sorted(seen), sep="\n  ")
    report = "\n".join(f"{url}:\n  " + "\n  ".join(found) for url, found in problems.items())
    assert not problems, report
    assert not elsewhere, f"requests to another host: {elsewhere}"
    # The crawl did reach the pages it should, the seeded ones showing what was seeded.
    paths = {urlsplit(url).path for url in seen}
    for path in ["/product/", "/pricing/", "/privacy/", "/testimonials/", "/subprocessors/"]:
        assert path in paths, f"{path} was not reached from /: {sorted(paths)}"
    assert "/privacy/requests/new/" in paths and "/newsletter/" in paths
    post, topic = public_content["post"], public_content["topic"]
    for path in ["/blog/", f"/blog/{post.slug}/", "/forum/", "/forum/c/field-tips/"]:
        assert path in paths, f"{path} was not reached from /: {sorted(paths)}"
    assert topic.get_absolute_url() in paths
    assert any(f"/blog/{post.slug}/cover/" in src for src in images), images
    testimonial = public_content["testimonial"]
    assert any(str(testimonial.public_id) in src for src in images), images
    page.goto("/subprocessors/")
    assert "Mailjet SAS" in page.locator("main").inner_text()
