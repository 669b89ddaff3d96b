"""The moderation core shared by forum posts and blog comments: trust levels, flags (three hide a
post, none lost under concurrency), staff's hide/restore/dismiss and bans in admin, removal
requests through the privacy request admin, and the person's posts in their data archive."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from clients.models import AuditEvent
from opsx.models import OutboundMessage
from privacy.models import PrivacyRequest
from tests.conftest import sign_in
from tests.factories import UserFactory
from tests.privacy.requests_helpers import confirmed_visitor_request
from website import community
from website.models import BlogComment, CommunityBan, Flag, ForumPost, TopicRead

from .community_objects import blog_post, topic

Action = AuditEvent.Action


@pytest.fixture
def thread(personas):
    return topic(personas.alice, title="Tips", body="Share yours", replies=[(personas.bob, "Mine")])


@pytest.fixture
def reply(thread, personas):
    return thread.posts.get(author=personas.bob)


def _flaggers(n):
    return [UserFactory() for _ in range(n)]


# --- trust --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_account_is_trusted_once_it_has_read_posted_and_aged(personas, settings):
    bob = personas.bob
    assert not community.is_trusted(bob)
    for n in range(5):
        TopicRead.objects.create(user=bob, topic=topic(personas.alice, title=f"T{n}"))
    for n in range(3):
        ForumPost.objects.create(topic=topic(bob, title=f"Own {n}"), author=bob, body="x")
    assert not community.is_trusted(bob)  # joined today: not a day old yet
    bob.date_joined = timezone.now() - timedelta(days=2)
    assert community.is_trusted(bob)
    settings.COMMUNITY_TRUST_POSTS = 10
    assert not community.is_trusted(bob)


@pytest.mark.django_db
def test_a_trusted_account_gets_the_looser_daily_limit(personas, settings, thread):
    settings.COMMUNITY_POST_INTERVAL_SECONDS = 0
    settings.COMMUNITY_TRUST_TOPICS_READ = settings.COMMUNITY_TRUST_POSTS = 0
    settings.COMMUNITY_TRUST_DAYS = 0
    settings.COMMUNITY_TRUSTED_REPLIES_PER_DAY = 12
    from website import forum

    for n in range(12):  # past the new account's 10
        forum.topic_reply(topic=thread, body=f"r{n}", actor=personas.dan)
    with pytest.raises(ValidationError, match="12 replies and comments in the last 24 hours"):
        forum.topic_reply(topic=thread, body="one more", actor=personas.dan)


def test_the_public_name_never_shows_an_email():
    class Person:
        def __init__(self, full_name, is_staff=False):
            self.full_name, self.is_staff = full_name, is_staff

    assert community.author_name(Person("Ada Lovelace King")) == "Ada K."
    assert community.author_name(Person("Plato")) == "Plato"
    assert community.author_name(Person("")) == "A member"
    assert community.author_name(Person("Sam Support", is_staff=True)) == "Sam S. (OpsX staff)"
    assert community.author_name(None) == "A former member"


# --- flags --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_three_flags_hide_a_post_until_staff_look(client, personas, thread, reply):
    first, second, third = _flaggers(3)
    community.post_flag(post=reply, reason="spam", actor=first)
    community.post_flag(post=reply, reason="abuse", actor=second)
    reply.refresh_from_db()
    assert reply.flag_count == 2 and reply.hidden == ""
    community.post_flag(post=reply, reason="spam", actor=third)
    reply.refresh_from_db()
    assert reply.flag_count == 3 and reply.hidden == "flags"
    assert AuditEvent.objects.filter(action=Action.COMMUNITY_FLAGGED).count() == 3
    hidden_event = AuditEvent.objects.get(action=Action.COMMUNITY_HIDDEN_BY_FLAGS)
    assert hidden_event.target_id == reply.public_id and hidden_event.counts == {"flags": 3}
    # Others see the placeholder only; the author sees the text with a note.
    html = client.get(thread.get_absolute_url()).content.decode()
    assert "This post is hidden while staff review it." in html and "Mine" not in html
    sign_in(client, personas.bob)
    html = client.get(thread.get_absolute_url()).content.decode()
    assert "Mine" in html and "Only you and staff see this post" in html


@pytest.mark.django_db
def test_flagging_your_own_post_or_twice_is_refused(client, personas, reply):
    with pytest.raises(ValidationError, match="cannot flag your own post"):
        community.post_flag(post=reply, reason="spam", actor=personas.bob)
    community.post_flag(post=reply, reason="spam", actor=personas.dan)
    sign_in(client, personas.dan)
    response = client.post(reverse("forum_post_flag", args=[reply.public_id]), {"reason": "spam"})
    assert response.status_code == 400
    assert "already flagged this post" in response.content.decode()
    bad = client.post(reverse("forum_post_flag", args=[reply.public_id]), {"reason": "x" * 999})
    assert bad.status_code == 400
    assert Flag.objects.count() == 1


@pytest.mark.django_db
def test_a_member_flags_through_the_page(client, personas, reply):
    sign_in(client, personas.dan)
    url = reverse("forum_post_flag", args=[reply.public_id])
    assert client.get(url).status_code == 200
    response = client.post(url, {"reason": "off_topic", "note": "Not about visits"})
    assert response.status_code == 302
    flag = Flag.objects.get()
    assert flag.flagger == personas.dan and flag.forum_post == reply and flag.reason == "off_topic"


@pytest.mark.django_db(transaction=True)
def test_concurrent_flags_are_all_counted(personas):
    """Two people flag at the same moment, each in their own connection and transaction: the
    post's row lock makes them count in turn, so the count is 3, not 2, and the post hides."""
    post = topic(personas.alice, title="Race", replies=[(personas.bob, "Hi")]).posts.get(
        author=personas.bob
    )
    community.post_flag(post=post, reason="spam", actor=personas.carol)
    racers = _flaggers(2)
    barrier = threading.Barrier(2)
    errors = []

    def flag(user):
        try:
            barrier.wait(timeout=10)
            community.post_flag(post=post, reason="spam", actor=user)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=flag, args=[user]) for user in racers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    post.refresh_from_db()
    assert post.flag_count == 3 and Flag.objects.filter(forum_post=post).count() == 3
    assert post.hidden == "flags"


# --- staff in admin -----------------------------------------------------------------------------


@pytest.fixture
def flagged(reply):
    for user in _flaggers(3):
        community.post_flag(post=reply, reason="spam", actor=user)
    reply.refresh_from_db()
    return reply


@pytest.mark.django_db
def test_staff_see_the_flagged_waiting_list_and_dismiss_audited(client, sam, flagged, thread):
    client.force_login(sam)
    changelist = reverse("admin:website_forumpost_changelist")
    waiting = client.get(changelist + "?flags=waiting").content.decode()
    first = thread.posts.get(is_first=True)
    assert f"/forumpost/{flagged.pk}/change/" in waiting
    assert f"/forumpost/{first.pk}/change/" not in waiting
    assert (
        client.get(reverse("admin:website_forumpost_change", args=[flagged.pk])).status_code == 200
    )
    client.post(changelist, {"action": "dismiss_flags", "_selected_action": [flagged.pk]})
    flagged.refresh_from_db()
    assert flagged.hidden == "" and flagged.flag_count == 0 and flagged.flags_reviewed_at
    assert not Flag.objects.filter(reviewed_at__isnull=True).exists()
    assert AuditEvent.objects.filter(action=Action.COMMUNITY_FLAGS_DISMISSED, actor=sam)
    # Kept by staff: a new flag puts it back on the list but no longer hides it alone.
    for user in _flaggers(3):
        community.post_flag(post=flagged, reason="spam", actor=user)
    flagged.refresh_from_db()
    assert flagged.hidden == "" and flagged.flag_count == 3
    assert (
        f"/forumpost/{flagged.pk}/change/"
        in client.get(changelist + "?flags=waiting").content.decode()
    )


@pytest.mark.django_db
def test_staff_hide_and_restore_in_admin_audited(client, sam, reply, thread):
    client.force_login(sam)
    changelist = reverse("admin:website_forumpost_changelist")
    client.post(changelist, {"action": "hide_posts", "_selected_action": [reply.pk]})
    reply.refresh_from_db()
    thread.refresh_from_db()
    assert reply.hidden == "staff" and thread.reply_count == 0
    client.post(changelist, {"action": "restore_posts", "_selected_action": [reply.pk]})
    reply.refresh_from_db()
    thread.refresh_from_db()
    assert reply.hidden == "" and thread.reply_count == 1
    actions = list(AuditEvent.objects.filter(actor=sam).values_list("action", flat=True))
    assert Action.COMMUNITY_HIDDEN in actions and Action.COMMUNITY_RESTORED in actions


@pytest.mark.django_db
def test_a_post_removed_by_its_author_is_not_restored(client, sam, personas, reply):
    community.post_delete(post=reply, actor=personas.bob)
    client.force_login(sam)
    changelist = reverse("admin:website_forumpost_changelist")
    response = client.post(
        changelist, {"action": "restore_posts", "_selected_action": [reply.pk]}, follow=True
    )
    assert "Only a post hidden by staff or by flags can be restored." in response.content.decode()
    reply.refresh_from_db()
    assert reply.hidden == "author"


@pytest.mark.django_db
def test_staff_moderate_blog_comments_the_same_way(client, sam, personas):
    comment = BlogComment.objects.create(post=blog_post(), author=personas.bob, body="Spam")
    client.force_login(sam)
    changelist = reverse("admin:website_blogcomment_changelist")
    assert client.get(changelist + "?flags=waiting").status_code == 200
    client.post(changelist, {"action": "hide_posts", "_selected_action": [comment.pk]})
    comment.refresh_from_db()
    assert comment.hidden == "staff"
    assert AuditEvent.objects.filter(action=Action.COMMUNITY_HIDDEN, target_id=comment.public_id)


@pytest.mark.django_db
def test_the_admin_shows_bodies_read_only(client, sam, reply):
    client.force_login(sam)
    html = client.get(reverse("admin:website_forumpost_change", args=[reply.pk])).content.decode()
    assert "Mine" in html and 'name="body"' not in html


@pytest.mark.django_db
def test_staff_ban_and_unban_in_admin_audited(client, sam, personas, thread):
    client.force_login(sam)
    add = reverse("admin:website_communityban_add")
    assert client.get(add).status_code == 200
    past = client.post(
        add,
        {"user": personas.dan.pk, "reason": "Spam", "until_0": "2001-01-01", "until_1": "10:00"},
    )
    assert past.status_code == 200 and "must be in the future" in past.content.decode()
    response = client.post(add, {"user": personas.dan.pk, "reason": "Spam links"})
    assert response.status_code == 302
    ban = CommunityBan.objects.get(user=personas.dan)
    assert ban.banned_by == sam and ban.until is None
    assert AuditEvent.objects.filter(
        action=Action.COMMUNITY_BANNED, target_id=personas.dan.public_id
    )
    with pytest.raises(ValidationError, match="Spam links"):
        community.require_may_post(personas.dan)
    delete = reverse("admin:website_communityban_delete", args=[ban.pk])
    assert client.get(delete).status_code == 200
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not CommunityBan.objects.exists()
    assert AuditEvent.objects.filter(action=Action.COMMUNITY_UNBANNED, actor=sam).exists()
    community.require_may_post(personas.dan)  # may post again


@pytest.mark.django_db
def test_a_ban_that_ended_no_longer_refuses(personas, sam):
    community.user_ban(
        user=personas.dan, reason="Cool off", until=timezone.now() + timedelta(hours=1), actor=sam
    )
    with pytest.raises(ValidationError, match="until"):
        community.require_may_post(personas.dan)
    CommunityBan.objects.update(until=timezone.now() - timedelta(seconds=1))
    community.require_may_post(personas.dan)


# --- removal requests ---------------------------------------------------------------------------


def _act(request, action):
    return reverse("admin:privacy_privacyrequest_act", args=[request.pk, action])


def _mail_to(address, words):
    return [m for m in OutboundMessage.objects.filter(to_email=address) if words in m.subject]


@pytest.mark.django_db
def test_staff_remove_forum_posts_on_a_removal_request(client, sam, reply, thread):
    pr = confirmed_visitor_request(
        kind=PrivacyRequest.Kind.REMOVAL,
        removal_target=PrivacyRequest.RemovalTarget.FORUM_POST,
        reference="My reply in Tips",
    )
    client.force_login(sam)
    page = client.get(reverse("admin:privacy_privacyrequest_change", args=[pr.pk])).content.decode()
    assert _act(pr, "remove_content") in page
    assert client.get(_act(pr, "remove_content")).status_code == 200
    unknown = client.post(
        _act(pr, "remove_content"), {"posts": "00000000-0000-0000-0000-000000000000"}
    )
    assert unknown.status_code == 400 and "No forum post has the id" in unknown.content.decode()
    link = f"https://opsx.example{thread.get_absolute_url()}#post-{reply.public_id}"
    response = client.post(_act(pr, "remove_content"), {"posts": link})
    assert response.status_code == 302
    reply.refresh_from_db()
    pr.refresh_from_db()
    assert reply.hidden == "removal" and reply.body == ""
    assert pr.status == PrivacyRequest.Status.DONE
    assert AuditEvent.objects.filter(action=Action.COMMUNITY_REMOVED, target_id=reply.public_id)
    assert any("We removed 1 forum post" in m.body_text for m in _mail_to(pr.requester_email, ""))
    html = client.get(thread.get_absolute_url()).content.decode()
    assert "Removed on a privacy request." in html and "Mine" not in html


@pytest.mark.django_db
def test_staff_refuse_a_blog_comment_removal_with_a_reason_the_requester_gets(
    client, sam, personas
):
    comment = BlogComment.objects.create(post=blog_post(), author=personas.bob, body="Fair review")
    pr = confirmed_visitor_request(
        kind=PrivacyRequest.Kind.REMOVAL,
        removal_target=PrivacyRequest.RemovalTarget.BLOG_COMMENT,
        reference=str(comment.public_id),
    )
    client.force_login(sam)
    page = client.get(reverse("admin:privacy_privacyrequest_change", args=[pr.pk])).content.decode()
    assert "Remove the blog comments" in page
    reason = "The comment is another member's opinion of our product and names nobody."
    assert client.post(_act(pr, "refuse"), {"reason": reason}).status_code == 302
    pr.refresh_from_db()
    comment.refresh_from_db()
    assert pr.status == PrivacyRequest.Status.REFUSED and comment.hidden == ""
    assert any(reason in m.body_text for m in _mail_to(pr.requester_email, ""))


@pytest.mark.django_db
def test_a_blog_comment_removal_removes_it(client, sam, personas):
    comment = BlogComment.objects.create(post=blog_post(), author=personas.bob, body="Oops")
    pr = confirmed_visitor_request(
        kind=PrivacyRequest.Kind.REMOVAL, removal_target=PrivacyRequest.RemovalTarget.BLOG_COMMENT
    )
    client.force_login(sam)
    client.post(_act(pr, "remove_content"), {"posts": str(comment.public_id)})
    comment.refresh_from_db()
    pr.refresh_from_db()
    assert comment.hidden == "removal" and comment.body == "" and pr.status == "done"


@pytest.mark.django_db
def test_the_removal_action_is_not_offered_for_another_target(client, sam):
    pr = confirmed_visitor_request(
        kind=PrivacyRequest.Kind.REMOVAL, removal_target=PrivacyRequest.RemovalTarget.REFERRAL
    )
    client.force_login(sam)
    assert client.get(_act(pr, "remove_content")).status_code == 403


# --- personal data ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_access_archive_lists_the_persons_posts_and_comments(personas, reply):
    from privacy.archive import archive_data

    comment = BlogComment.objects.create(post=blog_post(), author=personas.bob, body="My words")
    sections = archive_data(personas.bob)["sections"]
    assert str(reply.public_id) in str(sections["Your forum posts"]["rows"])
    assert "My words" in str(sections["Your comments on the blog"]["rows"])
    assert str(comment.public_id) in str(sections["Your comments on the blog"]["rows"])
    assert "Share yours" not in str(sections["Your forum posts"]["rows"])  # Alice's
