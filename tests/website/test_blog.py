"""The blog: staff write posts in Django admin and publish them now or later; visitors read
/blog/, each post (with its meta description, canonical and Open Graph tags), the Atom feed and
the sitemap, and never see a draft, a post whose time has not come, or hostile Markdown alive."""

import io
import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from clients.models import AuditEvent
from tests.factories import BlogPostFactory
from website import blog, sitemaps
from website.models import BlogPost

from .pages import COMMUNITY_PAGES, READING_PAGES, READING_POST_SLUG

Action = AuditEvent.Action
Status = BlogPost.Status
LIST = reverse("admin:website_blogpost_changelist")
ADD = reverse("admin:website_blogpost_add")
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"

HOSTILE = """## Hello <script>alert("body")</script>

[click me](javascript:alert(1)) and [data](data:text/html;base64,PHNjcmlwdD4=)

<img src=x onerror="alert(2)"> <iframe src="https://evil.example/"></iframe>

![tracker](https://evil.example/pixel.png)

<a href="https://evil.example" onclick="steal()">raw link</a>
"""


@pytest.fixture
def staff_client(sam):
    """Sam (staff with two-factor) in Django admin; `client` stays an anonymous visitor."""
    staff = Client()
    staff.force_login(sam)
    return staff


@pytest.fixture
def settings_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def image_bytes(fmt="PNG", size=(32, 16), exif=None) -> bytes:
    out = io.BytesIO()
    kwargs = {"exif": exif} if exif is not None else {}
    Image.new("RGB", size, (20, 90, 200)).save(out, format=fmt, **kwargs)
    return out.getvalue()


def upload(data=None, name="cover.png", content_type="image/png"):
    return SimpleUploadedFile(name, image_bytes() if data is None else data, content_type)


def form(sam, **overrides):
    data = {
        "title": "Planning a week of visits",
        "slug": "planning-a-week-of-visits",
        "description": "How field teams plan their week in OpsX.",
        "body": "## Monday\n\nStart with the *warm* prospects.",
        "cover_alt": "",
        "author": sam.pk,
        "comments_open": "on",
        "publish_at": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def parse_xml(content: bytes) -> ET.Element:
    return ET.fromstring(content)  # noqa: S314 -- our own response, not untrusted input


def post_url(post) -> str:
    return reverse("blog_post", args=[post.slug])


def events(action, post):
    return AuditEvent.objects.filter(action=action, target_id=post.public_id)


# --- reading ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_blog_lists_posts_on_the_site_newest_first_for_an_anonymous_visitor(client):
    now = timezone.now()
    BlogPostFactory(title="Older post", published_at=now - timedelta(days=3))
    BlogPostFactory(title="Newer post", published_at=now - timedelta(minutes=5))
    BlogPostFactory(title="Draft post", status=Status.DRAFT, published_at=None)
    BlogPostFactory(title="Coming post", published_at=now + timedelta(days=1))
    response = client.get(reverse("blog"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Newer post") < html.index("Older post")
    assert "Draft post" not in html and "Coming post" not in html
    assert "<title>Blog · OpsX</title>" in html
    assert '<link rel="alternate" type="application/atom+xml"' in html
    assert f'href="{reverse("blog")}">Blog</a>' in html.split('<nav aria-label="Main">')[1]


@pytest.mark.django_db
def test_a_post_page_has_its_title_description_canonical_and_open_graph_tags(
    client, sam, settings_media
):
    post = BlogPostFactory(
        title="Checklists that work",
        description="Three checklist habits of the best field teams.",
        body="## The habits\n\nKeep them **short**.",
        author=sam,
    )
    blog.blog_post_save(post=post, actor=sam, cover_upload=None)
    post.cover_alt = "A clipboard with three ticks"
    blog.blog_post_save(post=post, actor=sam, cover_upload=upload())
    response = client.get(post_url(post))
    assert response.status_code == 200
    html = response.content.decode()
    canonical = f"{settings.SITE_URL}/blog/{post.slug}/"
    cover = f"{settings.SITE_URL}/blog/{post.slug}/cover/"
    assert "<title>Checklists that work · OpsX</title>" in html
    assert (
        '<meta name="description" content="Three checklist habits of the best field teams.">'
        in html
    )
    assert f'<link rel="canonical" href="{canonical}">' in html
    assert f'<meta property="og:url" content="{canonical}">' in html
    assert f'<meta property="og:image" content="{cover}">' in html
    assert '<meta property="og:title" content="Checklists that work">' in html
    assert '<meta property="og:type" content="article">' in html
    assert "<h1>Checklists that work</h1>" in html
    assert "By Sam Support" in html
    assert f'<time datetime="{post.published_at:%Y-%m-%dT%H:%M:%S}' in html
    assert "<h2>The habits</h2>" in html and "<strong>short</strong>" in html
    assert (
        f'<img class="blog-cover" src="/blog/{post.slug}/cover/" alt="A clipboard with three ticks">'
        in html
    )
    assert '<link rel="alternate" type="application/atom+xml"' in html


@pytest.mark.django_db
def test_a_draft_a_scheduled_post_and_an_unknown_address_are_404(client, sam, settings_media):
    draft = BlogPostFactory(status=Status.DRAFT, published_at=None, cover_alt="x")
    coming = BlogPostFactory(published_at=timezone.now() + timedelta(hours=2), cover_alt="x")
    for post in (draft, coming):
        blog.blog_post_save(post=post, actor=sam, cover_upload=upload())
        assert client.get(post_url(post)).status_code == 404
        assert client.get(reverse("blog_cover", args=[post.slug])).status_code == 404
    assert client.get("/blog/no-such-post/").status_code == 404
    assert client.get("/blog/not a slug/").status_code == 404


@pytest.mark.django_db
def test_a_scheduled_post_appears_when_its_time_comes(client, time_machine):
    at = timezone.now() + timedelta(days=2)
    post = BlogPostFactory(title="Monday news", published_at=at)
    assert client.get(post_url(post)).status_code == 404
    time_machine.move_to(at + timedelta(minutes=1))
    assert client.get(post_url(post)).status_code == 200
    assert "Monday news" in client.get(reverse("blog")).content.decode()


@pytest.mark.django_db
def test_the_blog_pages_ten_posts_at_a_time(client):
    start = timezone.now() - timedelta(days=30)
    for i in range(24):  # and the reading post: 25 on the site, three pages
        BlogPostFactory(title=f"Post number {i:02d}", published_at=start + timedelta(hours=i))
    first = client.get(reverse("blog")).content.decode()
    assert first.count("<li>\n        <article>") == 10
    # the reading post (an hour ago), then the nine newest of these
    assert "Post number 23" in first and "Post number 15" in first
    assert "Post number 14" not in first
    assert 'href="?page=2"' in first and "Page 1 of 3" in first
    third = client.get(reverse("blog"), {"page": "3"}).content.decode()
    assert third.count("<li>\n        <article>") == 5
    assert 'href="?page=2"' in third and 'rel="next"' not in third


@pytest.mark.django_db
@pytest.mark.parametrize(
    "page", ["abc", "", "0", "-1", "4", str(10**30), "1.5", "9" * 5000, "1e3", "\uff12"]
)
def test_a_page_number_that_is_not_a_page_is_a_clean_404(client, page):
    BlogPostFactory()
    response = client.get(reverse("blog"), {"page": page})
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [1, 15])
def test_the_blog_list_costs_the_same_queries_whatever_its_length(
    client, rows, django_assert_max_num_queries
):
    for _ in range(rows):
        BlogPostFactory()
    client.get(reverse("blog"))  # the first request fills the current notices' cache
    # 1. the count of posts on the site, 2. the page's posts with their authors (one join)
    with django_assert_max_num_queries(2):
        response = client.get(reverse("blog"))
    assert response.status_code == 200
    assert response.content.decode().count("<article>") == min(rows + 1, 10)


@pytest.mark.django_db
def test_blog_pages_set_no_cookie_for_an_anonymous_visitor(client):
    for url in [
        reverse("blog"),
        reverse("blog_post", args=[READING_POST_SLUG]),
        reverse("blog_feed"),
        reverse("sitemap"),
        reverse("robots_txt"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert not response.cookies, (url, list(response.cookies))
    assert not client.cookies


# --- feed, sitemap, robots.txt -------------------------------------------------------------


@pytest.mark.django_db
def test_the_feed_is_atom_with_the_posts_on_the_site_only(client, sam):
    BlogPostFactory(title="Draft post", status=Status.DRAFT, published_at=None)
    BlogPostFactory(title="Coming post", published_at=timezone.now() + timedelta(days=1))
    post = BlogPostFactory(title="Route planning", description="Less driving.", author=sam)
    response = client.get(reverse("blog_feed"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = parse_xml(response.content)
    assert feed.tag == f"{ATOM}feed"
    entries = {e.findtext(f"{ATOM}title"): e for e in feed.findall(f"{ATOM}entry")}
    assert set(entries) == {"Route planning", "Field notes from the first month"}
    entry = entries["Route planning"]
    link = entry.find(f"{ATOM}link").get("href")
    assert link == f"{settings.SITE_URL}/blog/{post.slug}/"
    assert entry.findtext(f"{ATOM}summary") == "Less driving."
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "Sam Support"
    assert entry.findtext(f"{ATOM}updated")
    assert "<h2>What we saw</h2>" in entry.findtext(f"{ATOM}content")
    self_link = next(link for link in feed.findall(f"{ATOM}link") if link.get("rel") == "self")
    assert self_link.get("href") == f"{settings.SITE_URL}/blog/feed/"


@pytest.mark.django_db
def test_the_sitemap_lists_the_reading_pages_and_the_posts_on_the_site(client):
    post = BlogPostFactory()
    draft = BlogPostFactory(status=Status.DRAFT, published_at=None)
    coming = BlogPostFactory(published_at=timezone.now() + timedelta(days=1))
    response = client.get(reverse("sitemap"))
    assert response.status_code == 200
    urls = {
        u.findtext(f"{SITEMAP}loc"): u.findtext(f"{SITEMAP}lastmod")
        for u in parse_xml(response.content).findall(f"{SITEMAP}url")
    }
    for name in READING_PAGES:
        assert f"{settings.SITE_URL}{reverse(name)}" in urls, name
    assert urls[f"{settings.SITE_URL}{post_url(post)}"] == post.updated_at.date().isoformat()
    assert f"{settings.SITE_URL}{post_url(draft)}" not in urls
    assert f"{settings.SITE_URL}{post_url(coming)}" not in urls
    assert set(sitemaps.PAGES) == set(READING_PAGES + COMMUNITY_PAGES)


@pytest.mark.django_db
def test_robots_txt_points_to_the_sitemap_and_keeps_crawlers_out_of_the_app(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert "Disallow: /app/" in lines and "Disallow: /admin/" in lines
    assert f"Sitemap: {settings.SITE_URL}/sitemap.xml" in lines


# --- hostile Markdown -----------------------------------------------------------------------


@pytest.mark.django_db
def test_hostile_markdown_is_inert_on_the_page_and_in_the_feed(client):
    post = BlogPostFactory(
        title='<script>alert("title")</script>',
        description='"><script>alert("meta")</script>',
        body=HOSTILE,
    )
    html = client.get(post_url(post)).content.decode()
    body = html.split('<div class="blog-body">', 1)[1].split("</article>", 1)[0]
    assert "<script" not in html.replace('<script src="', "")  # only our own files, if any
    assert "&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;" in html
    assert "<img" not in body and "<iframe" not in body
    # refused as links: they stay text
    assert "[click me](javascript:alert(1))" in body
    assert 'href="javascript:' not in body and 'href="data:' not in body
    assert "onerror=" not in re.sub(r"&lt;.*?&gt;", "", body)  # only as escaped text
    assert "onclick" not in re.sub(r"&lt;.*?&gt;", "", body)
    assert '&lt;img src=x onerror="alert(2)"&gt;' in body or "&lt;img src=x" in body
    feed = parse_xml(client.get(reverse("blog_feed")).content)
    entry = next(e for e in feed.findall(f"{ATOM}entry") if "alert" in e.findtext(f"{ATOM}title"))
    content = entry.findtext(f"{ATOM}content")
    assert "<script" not in content and "<img" not in content and "<iframe" not in content
    assert 'href="javascript:' not in content and 'href="data:' not in content
    assert "evil.example/pixel.png" not in content  # the image is dropped, not fetched
    assert "onerror=" not in re.sub(r"&lt;.*?&gt;", "", content)
    assert "<script" not in entry.findtext(f"{ATOM}summary").replace("&lt;", "")


# --- admin --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_staff_open_the_list_the_add_page_and_a_post_with_its_preview(staff_client):
    post = BlogPostFactory(title="Preview me", body="## Heading\n\nSome *emphasis*.")
    listing = staff_client.get(LIST, {"q": "Preview"})
    assert listing.status_code == 200 and "Preview me" in listing.content.decode()
    assert staff_client.get(LIST, {"status__exact": "draft"}).status_code == 200
    add = staff_client.get(ADD)
    assert add.status_code == 200
    assert 'id="id_slug"' in add.content.decode() and "prepopulated" in add.content.decode()
    change = staff_client.get(reverse("admin:website_blogpost_change", args=[post.pk]))
    assert change.status_code == 200
    html = change.content.decode()
    assert '<div class="policy-preview"><h2>Heading</h2>' in html
    assert "<em>emphasis</em>" in html and "Save and publish" in html


@pytest.mark.django_db
def test_staff_add_a_draft_then_save_and_publish_it_all_audited(staff_client, client, sam):
    response = staff_client.post(ADD, form(sam))
    assert response.status_code == 302, response.content.decode()[:3000]
    post = BlogPost.objects.get(slug="planning-a-week-of-visits")
    assert post.status == Status.DRAFT and post.author == sam
    assert events(Action.BLOG_POST_SAVED, post).get().actor == sam
    assert client.get(post_url(post)).status_code == 404
    change = reverse("admin:website_blogpost_change", args=[post.pk])
    response = staff_client.post(change, {**form(sam), "_publish": "1"}, follow=True)
    assert "is published" in response.content.decode()
    post.refresh_from_db()
    assert post.status == Status.PUBLISHED
    event = events(Action.BLOG_POST_PUBLISHED, post).get()
    assert event.client_id is None and event.actor == sam
    assert event.changes == {"status": {"old": "draft", "new": "published"}}
    assert client.get(post_url(post)).status_code == 200


@pytest.mark.django_db
def test_staff_schedule_a_post_and_a_time_in_the_past_is_refused(staff_client, client, sam):
    at = (timezone.now() + timedelta(days=3)).replace(second=0, microsecond=0)
    response = staff_client.post(
        ADD,
        {**form(sam), "publish_at": at.strftime("%Y-%m-%d %H:%M"), "_publish": "1"},
        follow=True,
    )
    assert "is scheduled" in response.content.decode()
    post = BlogPost.objects.get(slug="planning-a-week-of-visits")
    assert post.status == Status.PUBLISHED and post.published_at == at
    assert client.get(post_url(post)).status_code == 404
    assert f"/blog/{post.slug}/" not in client.get(reverse("sitemap")).content.decode()
    past = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    change = reverse("admin:website_blogpost_change", args=[post.pk])
    response = staff_client.post(
        change, {**form(sam), "publish_at": past, "_publish": "1"}, follow=True
    )
    assert "The publish time is in the past" in response.content.decode()
    post.refresh_from_db()
    assert post.published_at == at


@pytest.mark.django_db
def test_the_list_actions_publish_now_and_unpublish_through_the_services(staff_client, client, sam):
    post = BlogPostFactory(status=Status.DRAFT, published_at=None)
    response = staff_client.post(
        LIST, {"action": "publish_now", "_selected_action": [post.pk]}, follow=True
    )
    assert "is published" in response.content.decode()
    assert client.get(post_url(post)).status_code == 200
    response = staff_client.post(
        LIST, {"action": "unpublish", "_selected_action": [post.pk]}, follow=True
    )
    assert "is off the site" in response.content.decode()
    post.refresh_from_db()
    assert post.status == Status.DRAFT and post.published_at is None
    assert client.get(post_url(post)).status_code == 404
    assert events(Action.BLOG_POST_PUBLISHED, post).count() == 1
    unpublished = events(Action.BLOG_POST_UNPUBLISHED, post).get()
    assert unpublished.actor == sam
    assert unpublished.changes == {"status": {"old": "published", "new": "draft"}}
    # again: nothing to do, nothing audited
    staff_client.post(LIST, {"action": "unpublish", "_selected_action": [post.pk]})
    assert events(Action.BLOG_POST_UNPUBLISHED, post).count() == 1


@pytest.mark.django_db
def test_staff_delete_a_post_through_the_service_with_its_cover(
    staff_client, sam, settings_media, django_capture_on_commit_callbacks
):
    post = BlogPostFactory(cover_alt="A map")
    blog.blog_post_save(post=post, actor=sam, cover_upload=upload())
    name = post.cover.name
    assert default_storage.exists(name)
    delete = reverse("admin:website_blogpost_delete", args=[post.pk])
    assert staff_client.get(delete).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert staff_client.post(delete, {"post": "yes"}).status_code == 302
    assert not BlogPost.objects.filter(pk=post.pk).exists()
    assert AuditEvent.objects.filter(
        action=Action.BLOG_POST_DELETED, target_id=post.public_id, actor=sam
    ).exists()
    assert not default_storage.exists(name)


# --- covers ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_cover_is_kept_without_its_metadata_and_served_only_while_published(
    staff_client, client, sam, settings_media
):
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # the camera's make: any EXIF tag
    data = image_bytes("JPEG", exif=exif)
    assert b"SecretCam" in data
    cover = upload(data, "cover.jpg", "image/jpeg")
    response = staff_client.post(ADD, {**form(sam), "cover": cover, "cover_alt": "A van"})
    assert response.status_code == 302, response.content.decode()[:3000]
    post = BlogPost.objects.get(slug="planning-a-week-of-visits")
    with post.cover.open("rb") as stored:
        assert b"SecretCam" not in stored.read()
    blog.blog_post_publish(post=post, actor=sam)
    url = reverse("blog_cover", args=[post.slug])
    served = client.get(url)
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert b"".join(served.streaming_content).startswith(b"\xff\xd8\xff")
    assert "public" in served["Cache-Control"] and "max-age=300" in served["Cache-Control"]
    again = client.get(url, HTTP_IF_NONE_MATCH=served["ETag"])
    assert again.status_code == 304
    blog.blog_post_unpublish(post=post, actor=sam)
    assert client.get(url).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "cover, message",
    [
        (upload(b"just some text, not an image", name="c.png"), "Upload a valid image"),
        (upload(image_bytes("GIF"), name="c.gif", content_type="image/gif"), "JPEG, PNG or WebP"),
        (upload(image_bytes("GIF"), name="c.png"), "this file is not one"),
        (upload(image_bytes() + b"\0" * (5 * 1024 * 1024), name="big.png"), "at most 5 MB"),
    ],
    ids=["text", "gif", "gif-named-png", "too-big"],
)
def test_a_cover_that_is_not_a_small_jpeg_png_or_webp_is_refused_with_a_message(
    cover, message, staff_client, sam, settings_media
):
    response = staff_client.post(ADD, {**form(sam), "cover": cover, "cover_alt": "A van"})
    assert response.status_code == 200  # the form again, with the reason
    assert message in response.content.decode()
    assert not BlogPost.objects.filter(slug="planning-a-week-of-visits").exists()


@pytest.mark.django_db
def test_a_cover_without_its_alternative_text_or_an_oversized_body_is_refused(
    staff_client, sam, settings_media
):
    response = staff_client.post(ADD, {**form(sam), "cover": upload()})
    assert response.status_code == 200
    assert "Say what the cover shows" in response.content.decode()
    response = staff_client.post(ADD, form(sam, body="x" * (blog.BODY_MAX_LENGTH + 1)))
    assert response.status_code == 200
    assert "at most 100,000 characters" in response.content.decode()
    response = staff_client.post(ADD, form(sam, title="t" * 201))
    assert response.status_code == 200
    assert "at most 200 characters" in response.content.decode()
    assert not BlogPost.objects.filter(slug="planning-a-week-of-visits").exists()
