"""The forum's services: starting a topic, replying, recording a read, and staff's topic
moderation (lock, move, pin, hide). Posts themselves are moderated by website.community, which
blog comments share."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from clients import audit

from . import community
from .models import ForumCategory, ForumPost, ForumTopic, TopicRead

Action = audit.Action


def _record(actor, action, target, **kwargs) -> None:
    audit.record(actor=actor, action=action, target=target, client=audit.NO_CLIENT, **kwargs)


def topic_slug(title: str) -> str:
    max_length = ForumTopic._meta.get_field("slug").max_length
    return slugify(title)[:max_length].strip("-") or "topic"


@transaction.atomic
def topic_start(*, category: ForumCategory, title: str, body: str, actor) -> ForumTopic:
    """`actor` opens a topic in `category` with its first post (every community limit
    applies: see website.community)."""
    title = community.clean_title(title)
    body = community.checked_new_post(user=actor, body=body, topic=True)
    now = timezone.now()
    topic = ForumTopic.objects.create(
        category=category, title=title, slug=topic_slug(title), author=actor, last_posted_at=now
    )
    ForumPost.objects.create(topic=topic, author=actor, body=body, is_first=True)
    _record(actor, Action.FORUM_TOPIC_STARTED, topic)
    return topic


@transaction.atomic
def topic_reply(*, topic: ForumTopic, body: str, actor) -> ForumPost:
    """`actor` replies in `topic`. A locked or hidden topic refuses replies. The topic's row is
    locked so its reply count and last activity stay right under concurrent replies."""
    topic = ForumTopic.objects.select_for_update().get(pk=topic.pk)
    if topic.locked:
        raise ValidationError("This topic is locked: it takes no more replies.", code="locked")
    if topic.hidden:
        raise ValidationError("This topic is hidden: it takes no replies.", code="hidden")
    body = community.checked_new_post(user=actor, body=body, topic=False)
    post = ForumPost.objects.create(topic=topic, author=actor, body=body)
    topic.reply_count += 1
    topic.last_posted_at = post.created_at
    topic.save(update_fields=["reply_count", "last_posted_at"])
    _record(actor, Action.FORUM_POST_REPLIED, post)
    return post


def topic_read(*, topic: ForumTopic, user) -> None:
    """A signed-in person opened `topic`: one row per person and topic, the first time only
    (INSERT ... ON CONFLICT DO NOTHING). What the trust level counts; not audited (it changes
    nothing anyone sees)."""
    if user is None or not user.is_authenticated:
        return
    TopicRead.objects.bulk_create([TopicRead(user=user, topic=topic)], ignore_conflicts=True)


# --- staff ------------------------------------------------------------------------------------


def _locked_topic(topic: ForumTopic, actor) -> ForumTopic:
    community.require_staff(actor)
    return ForumTopic.objects.select_for_update().get(pk=topic.pk)


@transaction.atomic
def topic_lock(*, topic: ForumTopic, locked: bool, actor) -> bool:
    """Staff lock (no more replies) or unlock a topic. False when it already was."""
    topic = _locked_topic(topic, actor)
    if topic.locked == locked:
        return False
    topic.locked = locked
    topic.save(update_fields=["locked"])
    action = Action.FORUM_TOPIC_LOCKED if locked else Action.FORUM_TOPIC_UNLOCKED
    _record(actor, action, topic)
    return True


@transaction.atomic
def topic_pin(*, topic: ForumTopic, pinned: bool, actor) -> bool:
    """Staff pin a topic to the top of its category, or unpin it. False when it already was."""
    topic = _locked_topic(topic, actor)
    if topic.pinned == pinned:
        return False
    topic.pinned = pinned
    topic.save(update_fields=["pinned"])
    _record(actor, Action.FORUM_TOPIC_PINNED, topic, changes={"pinned": (not pinned, pinned)})
    return True


@transaction.atomic
def topic_move(*, topic: ForumTopic, category: ForumCategory, actor) -> bool:
    """Staff move a topic to another category. False when it is there already."""
    topic = _locked_topic(topic, actor)
    if topic.category_id == category.pk:
        return False
    topic.category = category
    topic.save(update_fields=["category"])
    _record(actor, Action.FORUM_TOPIC_MOVED, topic, changes={"category": (None, None)})
    return True


@transaction.atomic
def topic_hide(*, topic: ForumTopic, reason: str = "", actor) -> ForumTopic:
    """Staff hide a whole topic: its opening post is hidden (community.post_hide), which hides
    the topic with it; restoring that post shows it again."""
    community.require_staff(actor)
    first = ForumPost.objects.get(topic=topic, is_first=True)
    community.post_hide(post=first, reason=reason, actor=actor)
    topic.refresh_from_db(fields=["hidden", "reply_count"])
    return topic


@transaction.atomic
def category_save(*, category: ForumCategory, actor) -> ForumCategory:
    """Staff create or change a category (Django admin)."""
    community.require_staff(actor)
    category.full_clean()
    category.save()
    # No public id on a category: the event names no target, the counts say which.
    _record(actor, Action.FORUM_CATEGORY_SAVED, None, counts={"category_id": category.pk})
    return category
