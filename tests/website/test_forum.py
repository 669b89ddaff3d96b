"""The community forum: reading for everyone, posting for signed-in members within the limits,
authors' edits, staff's topic moderation in admin, hostile text rendered inert."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from clients.models import AuditEvent
from tests.conftest import sign_in
from tests.factories import UserFactory
from website import forum
from website.models import ForumCategory, ForumPost, ForumTopic, TopicRead

from .community_objects import category, topic
from .test_csp import Resources

pytestmark = pytest.mark.django_db

Action = AuditEvent.Action


def _h1_count(html: str) -> int:
    return len(re.findall(r"<h1[\s>]", html))


@pytest.fixture
def paula(db):
    return UserFactory(full_name="Paula van Poster", email="paula@poster.example")


@pytest.fixture
def thread(paula, personas):
    return topic(
        paula, title="Planning a week", body="How do you *plan*?", replies=[(personas.bob, "Hi")]
    )


@pytest.fixture
def no_wait(settings):
    settings.COMMUNITY_POST_INTERVAL_SECONDS = 0
    return settings


# --- reading ----------------------------------------------------------------------------------


def test_every_forum_page_opens_for_a_visitor_and_a_member(client, personas, paula, thread):
    bob_post = thread.posts.get(author=personas.bob)
    reading = [reverse("forum"), thread.category.get_absolute_url(), thread.get_absolute_url()]
    for url in reading:
        response = client.get(url)
        assert response.status_code == 200, url
        assert _h1_count(response.content.decode()) == 1, url
    sign_in(client, personas.bob)
    posting = [
        reverse("forum_topic_new", args=[thread.category.slug]),
        reverse("forum_reply", args=[thread.pk]),
        reverse("forum_post_edit", args=[bob_post.public_id]),
        reverse("forum_post_delete", args=[bob_post.public_id]),
        reverse("forum_post_flag", args=[thread.posts.get(is_first=True).public_id]),
    ]
    for url in reading + posting:
        response = client.get(url)
        assert response.status_code == 200, url
        assert _h1_count(response.content.decode()) == 1, url


def test_a_visitor_reads_without_a_form_and_is_asked_to_sign_in(client, thread):
    html = client.get(thread.get_absolute_url()).content.decode()
    assert "How do you <em>plan</em>?" in html
    assert "<form" not in html and "csrfmiddlewaretoken" not in html
    assert "Sign in to post" in html
    assert f"{reverse('account_login')}?next=" in html


def test_a_member_sees_the_public_notice_and_the_reply_form(client, personas, thread):
    sign_in(client, personas.bob)
    html = client.get(thread.get_absolute_url()).content.decode()
    assert "Everything you post here is public" in html
    assert f'action="{reverse("forum_reply", args=[thread.pk])}"' in html
    assert '<label for="id_body">Your reply' in html


def test_the_public_name_is_first_name_and_last_initial_never_the_email(client, paula, thread):
    html = client.get(thread.get_absolute_url()).content.decode()
    assert "Paula P." in html
    assert "paula@poster.example" not in html and "van Poster" not in html


def test_the_index_counts_shown_topics_with_their_latest_activity(client, paula, thread):
    topic(paula, in_category=thread.category, title="Second")
    hidden = topic(paula, in_category=thread.category, title="Gone")
    ForumTopic.objects.filter(pk=hidden.pk).update(hidden=True)
    html = client.get(reverse("forum")).content.decode()
    assert "2 topics" in html
    assert "latest activity" in html
    assert "Gone" not in client.get(thread.category.get_absolute_url()).content.decode()


def test_a_wrong_slug_redirects_to_the_topics_address(client, thread):
    response = client.get(reverse("forum_topic", args=[thread.pk, "old-title"]) + "?page=2")
    assert response.status_code == 301
    assert response["Location"] == thread.get_absolute_url() + "?page=2"
    assert client.get(reverse("forum_topic", args=[999999, "x"])).status_code == 404


def test_a_signed_in_reader_is_recorded_once(client, personas, thread):
    client.get(thread.get_absolute_url())
    assert not TopicRead.objects.exists()  # a visitor leaves no trace
    sign_in(client, personas.bob)
    client.get(thread.get_absolute_url())
    client.get(thread.get_absolute_url())
    assert TopicRead.objects.filter(user=personas.bob, topic=thread).count() == 1


def test_a_hidden_topic_is_a_404_for_others_and_opens_for_its_author(client, personas, thread):
    ForumTopic.objects.filter(pk=thread.pk).update(hidden=True)
    assert client.get(thread.get_absolute_url()).status_code == 404
    sign_in(client, personas.bob)
    assert client.get(thread.get_absolute_url()).status_code == 404
    client.force_login(thread.author)
    assert client.get(thread.get_absolute_url()).status_code == 200


def test_lists_take_the_same_queries_for_few_and_many_rows(
    client, personas, paula, django_assert_max_num_queries
):
    def measure(url):
        with django_assert_max_num_queries(50) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    sign_in(client, personas.bob)
    client.get(reverse("home"))  # fills the current notices' cache (a context processor)
    first = topic(paula, title="One", replies=[(personas.bob, "r")])
    counts = {
        "index": measure(reverse("forum")),
        "category": measure(first.category.get_absolute_url()),
        "topic": measure(first.get_absolute_url()),
    }
    for n in range(6):
        extra = category(slug=f"c{n}", name=f"Category {n}")
        topic(UserFactory(), in_category=extra, title=f"Other {n}")
    for n in range(25):
        topic(UserFactory(), in_category=first.category, title=f"Topic {n}")
    for n in range(25):
        ForumPost.objects.create(topic=first, author=UserFactory(), body=f"Reply **{n}**")
    # The same statements with 1 and with 25 topics, posts and authors: no query per row.
    # index: session, user, categories with counts (one GROUP BY); topic: + topic, read, page.
    with django_assert_max_num_queries(counts["index"]):
        client.get(reverse("forum"))
    with django_assert_max_num_queries(counts["category"]):
        client.get(first.category.get_absolute_url())
    with django_assert_max_num_queries(counts["topic"]):
        html = client.get(first.get_absolute_url()).content.decode()
    assert "Reply <strong>24</strong>" in html or "Next" in html
    assert counts["topic"] <= 12


def test_pages_of_a_long_topic(client, paula):
    long = topic(paula, title="Long")
    for n in range(35):
        ForumPost.objects.create(topic=long, author=paula, body=f"Number {n}")
    html = client.get(long.get_absolute_url() + "?page=2").content.decode()
    assert "Number 34" in html and "Number 10" not in html
    assert "Page 2 of 2" in html
    assert client.get(long.get_absolute_url() + "?page=99999999999999").status_code == 200


# --- posting ----------------------------------------------------------------------------------


def test_posting_signed_out_leads_to_sign_in_and_saves_nothing(client, thread):
    before = ForumPost.objects.count()
    response = client.post(reverse("forum_reply", args=[thread.pk]), {"body": "Hello"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    response = client.post(
        reverse("forum_topic_new", args=[thread.category.slug]), {"title": "T", "body": "B"}
    )
    assert response["Location"].startswith(reverse("account_login"))
    assert ForumPost.objects.count() == before and ForumTopic.objects.count() == 1


def test_a_member_starts_a_topic_audited(client, personas):
    cat = category()
    sign_in(client, personas.bob)
    response = client.post(
        reverse("forum_topic_new", args=[cat.slug]),
        {"title": "  Route   planning ", "body": "Which order?"},
    )
    made = ForumTopic.objects.get()
    assert response.status_code == 302 and response["Location"] == made.get_absolute_url()
    assert made.title == "Route planning" and made.slug == "route-planning"
    assert made.posts.get().is_first
    event = AuditEvent.objects.get(action=Action.FORUM_TOPIC_STARTED)
    assert event.actor == personas.bob and event.target_id == made.public_id
    assert event.client_id is None


def test_a_reply_is_posted_counted_and_audited(client, personas, thread):
    sign_in(client, personas.dan)
    response = client.post(reverse("forum_reply", args=[thread.pk]), {"body": "Me too"})
    post = ForumPost.objects.get(author=personas.dan)
    assert response.status_code == 302 and response["Location"].endswith(f"#post-{post.public_id}")
    thread.refresh_from_db()
    assert thread.reply_count == 2 and thread.last_posted_at == post.created_at
    assert AuditEvent.objects.filter(action=Action.FORUM_POST_REPLIED, actor=personas.dan).exists()


HOSTILE = (
    "<script>alert(1)</script> [click](javascript:alert(1)) [data](data:text/html,<b>x</b>) "
    "<img src=x onerror=alert(1)> <a href='https://evil.example' onclick='x()'>raw</a>"
)


def test_hostile_text_renders_inert(client, personas, thread):
    ForumPost.objects.create(topic=thread, author=personas.bob, body=HOSTILE)
    html = client.get(thread.get_absolute_url()).content.decode()
    body = html.split('<div class="posts">', 1)[1]
    assert "<script>alert" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert 'href="javascript:' not in body and 'href="data:' not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body  # shown as text
    # No element with an event attribute, no inline script, nothing loaded (the CSP checker).
    parser = Resources()
    parser.feed(body)
    assert parser.inline == [] and parser.urls == []


def test_a_members_headings_do_not_become_page_headings(client, personas, thread):
    ForumPost.objects.create(topic=thread, author=personas.bob, body="# Big\n\n###### small")
    html = client.get(thread.get_absolute_url()).content.decode()
    assert _h1_count(html) == 1
    assert "<p><strong>Big</strong></p>" in html


def test_an_oversized_post_or_title_is_refused_with_a_message(client, personas, thread):
    sign_in(client, personas.bob)
    response = client.post(reverse("forum_reply", args=[thread.pk]), {"body": "x" * 20_001})
    assert response.status_code == 400
    assert "at most 20,000 characters; this one has 20,001" in response.content.decode()
    response = client.post(
        reverse("forum_topic_new", args=[thread.category.slug]), {"title": "t" * 151, "body": "b"}
    )
    assert response.status_code == 400
    assert "at most 150 characters" in response.content.decode()
    empty = client.post(reverse("forum_reply", args=[thread.pk]), {"body": "   "})
    assert empty.status_code == 400 and "the post is empty" in empty.content.decode()
    assert ForumPost.objects.count() == 2 and ForumTopic.objects.count() == 1


def test_a_locked_topic_refuses_replies(client, personas, thread, sam):
    forum.topic_lock(topic=thread, locked=True, actor=sam)
    sign_in(client, personas.bob)
    html = client.get(thread.get_absolute_url()).content.decode()
    assert "This topic is locked" in html and "Post reply" not in html
    response = client.post(reverse("forum_reply", args=[thread.pk]), {"body": "Still here?"})
    assert response.status_code == 400
    assert "locked: it takes no more replies" in response.content.decode()
    assert ForumPost.objects.count() == 2


def test_a_new_account_may_start_three_topics_a_day(client, personas, no_wait):
    cat = category()
    sign_in(client, personas.bob)
    url = reverse("forum_topic_new", args=[cat.slug])
    for n in range(3):
        assert client.post(url, {"title": f"T{n}", "body": "b"}).status_code == 302
    response = client.post(url, {"title": "T4", "body": "b"})
    assert response.status_code == 400
    assert "3 topics in the last 24 hours, the most allowed as a new member" in (
        response.content.decode()
    )
    assert ForumTopic.objects.count() == 3


def test_a_new_account_posts_at_most_two_links_and_no_image(client, personas, thread):
    sign_in(client, personas.bob)
    url = reverse("forum_reply", args=[thread.pk])
    links = client.post(
        url, {"body": "[a](https://a.example) [b](https://b.example) <https://c.example>"}
    )
    assert links.status_code == 400
    assert "at most 2 links in a post; this one has 3" in links.content.decode()
    image = client.post(url, {"body": "Look ![a cat](https://cats.example/c.png)"})
    assert image.status_code == 400
    assert "New members cannot post images" in image.content.decode()
    assert ForumPost.objects.count() == 2


def test_a_trusted_members_image_is_shown_as_a_link_never_loaded(
    client, personas, thread, settings
):
    settings.COMMUNITY_TRUST_TOPICS_READ = settings.COMMUNITY_TRUST_POSTS = 0
    settings.COMMUNITY_TRUST_DAYS = 0
    sign_in(client, personas.bob)
    body = "Look ![a cat](https://cats.example/c.png) " + " ".join(
        f"[l{n}](https://l{n}.example)" for n in range(5)
    )
    response = client.post(reverse("forum_reply", args=[thread.pk]), {"body": body})
    assert response.status_code == 302
    html = client.get(thread.get_absolute_url()).content.decode()
    assert '<a href="https://cats.example/c.png" rel="nofollow noopener">Image: a cat</a>' in html
    assert "<img" not in html.split('<div class="posts">', 1)[1]


def test_posting_twice_within_the_interval_is_refused(client, personas, thread):
    sign_in(client, personas.bob)
    url = reverse("forum_reply", args=[thread.pk])
    assert client.post(url, {"body": "One"}).status_code == 302
    response = client.post(url, {"body": "Two"})
    assert response.status_code == 429
    assert "one post per 15 seconds. Nothing was posted" in response.content.decode()
    assert ForumPost.objects.filter(author=personas.bob).count() == 2  # the fixture's and One


def test_a_banned_member_cannot_post(client, personas, thread, sam):
    from website import community

    community.user_ban(user=personas.dan, reason="Spam links", actor=sam)
    sign_in(client, personas.dan)
    response = client.post(reverse("forum_reply", args=[thread.pk]), {"body": "Buy now"})
    assert response.status_code == 400
    assert "You may not post in the community. The reason staff gave: Spam links" in (
        response.content.decode()
    )
    assert not ForumPost.objects.filter(author=personas.dan).exists()


# --- authors ----------------------------------------------------------------------------------


def test_the_author_edits_their_post_audited(client, personas, thread):
    post = thread.posts.get(author=personas.bob)
    sign_in(client, personas.bob)
    response = client.post(reverse("forum_post_edit", args=[post.public_id]), {"body": "Better"})
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.body == "Better" and post.edited_at is not None
    assert AuditEvent.objects.filter(action=Action.FORUM_POST_EDITED, target_id=post.public_id)
    assert "· edited" in client.get(thread.get_absolute_url()).content.decode()


def test_another_persons_post_cannot_be_edited_or_deleted_404(client, personas, thread):
    """404, not 403: a post's address tells nobody whose it is."""
    post = thread.posts.get(author=personas.bob)
    sign_in(client, personas.dan)
    assert client.get(reverse("forum_post_edit", args=[post.public_id])).status_code == 404
    response = client.post(reverse("forum_post_edit", args=[post.public_id]), {"body": "Mine"})
    assert response.status_code == 404
    assert client.post(reverse("forum_post_delete", args=[post.public_id])).status_code == 404
    post.refresh_from_db()
    assert post.body == "Hi" and not post.hidden


def test_the_author_deletes_their_post_its_place_stays(client, personas, thread):
    post = thread.posts.get(author=personas.bob)
    sign_in(client, personas.bob)
    assert client.post(reverse("forum_post_delete", args=[post.public_id])).status_code == 302
    post.refresh_from_db()
    thread.refresh_from_db()
    assert post.hidden == "author" and post.body == ""
    assert thread.reply_count == 0
    assert AuditEvent.objects.filter(action=Action.FORUM_POST_DELETED, actor=personas.bob)
    client.logout()
    html = client.get(thread.get_absolute_url()).content.decode()
    assert "Removed by its author." in html


def test_deleting_the_opening_post_hides_the_topic(client, paula, thread):
    client.force_login(paula)
    first = thread.posts.get(is_first=True)
    client.post(reverse("forum_post_delete", args=[first.public_id]))
    thread.refresh_from_db()
    assert thread.hidden
    client.logout()
    assert client.get(thread.get_absolute_url()).status_code == 404


# --- staff ------------------------------------------------------------------------------------


def test_staff_lock_pin_and_move_topics_in_admin_audited(client, sam, thread):
    client.force_login(sam)
    changelist = reverse("admin:website_forumtopic_changelist")
    assert client.get(changelist).status_code == 200
    assert (
        client.get(reverse("admin:website_forumtopic_change", args=[thread.pk])).status_code == 200
    )
    selected = {"_selected_action": [thread.pk]}
    client.post(changelist, {"action": "lock", **selected})
    client.post(changelist, {"action": "pin", **selected})
    elsewhere = ForumCategory.objects.create(name="Elsewhere", slug="elsewhere")
    form = client.post(changelist, {"action": "move", **selected})
    assert form.status_code == 200 and "Move these topics" in form.content.decode()
    client.post(changelist, {"action": "move", "apply": "1", "category": elsewhere.pk, **selected})
    thread.refresh_from_db()
    assert thread.locked and thread.pinned and thread.category == elsewhere
    actions = set(AuditEvent.objects.filter(actor=sam).values_list("action", flat=True))
    assert {
        Action.FORUM_TOPIC_LOCKED,
        Action.FORUM_TOPIC_PINNED,
        Action.FORUM_TOPIC_MOVED,
    } <= actions
    client.post(changelist, {"action": "unlock", **selected})
    thread.refresh_from_db()
    assert not thread.locked
    assert AuditEvent.objects.filter(action=Action.FORUM_TOPIC_UNLOCKED).exists()


def test_staff_hide_a_topic_in_admin(client, sam, thread):
    client.force_login(sam)
    changelist = reverse("admin:website_forumtopic_changelist")
    client.post(changelist, {"action": "hide", "_selected_action": [thread.pk]})
    thread.refresh_from_db()
    assert thread.hidden
    assert client.get(reverse("forum")).content.decode().count("0 topics") == 1
    assert AuditEvent.objects.filter(action=Action.COMMUNITY_HIDDEN, actor=sam).exists()


def test_staff_save_a_category_in_admin_audited(client, sam):
    client.force_login(sam)
    add = reverse("admin:website_forumcategory_add")
    assert client.get(add).status_code == 200
    response = client.post(add, {"name": "News", "slug": "news", "description": "", "order": 5})
    assert response.status_code == 302
    assert ForumCategory.objects.get(slug="news").order == 5
    assert AuditEvent.objects.filter(action=Action.FORUM_CATEGORY_SAVED, actor=sam).exists()


def test_only_staff_moderate_topics(thread, personas):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        forum.topic_lock(topic=thread, locked=True, actor=personas.bob)
    thread.refresh_from_db()
    assert not thread.locked


@pytest.mark.django_db
def test_the_sitemap_lists_the_forums_categories_and_shown_topics_only(client):
    from tests.website.pages import community_urls

    category_url, topic_url = community_urls()
    hidden = ForumTopic.objects.create(
        category=ForumCategory.objects.get(slug="field-tips"),
        title="Hidden topic",
        slug="hidden-topic",
        last_posted_at=timezone.now(),
        hidden=True,
    )
    body = client.get(reverse("sitemap")).content.decode()
    assert category_url in body and topic_url in body
    assert hidden.get_absolute_url() not in body
