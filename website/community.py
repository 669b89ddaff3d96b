"""The community's moderation core, shared by forum posts and blog comments (a `Moderated` post).

Who may post: a signed-in, active person without a running CommunityBan. What they may post
depends on their trust level, after Discourse's first level: a "new" account (settings
COMMUNITY_NEW_*) may start a few topics and post a few replies a day, with at most a couple of
links and no image; it becomes trusted once it has read COMMUNITY_TRUST_TOPICS_READ topics,
posted COMMUNITY_TRUST_POSTS posts and is COMMUNITY_TRUST_DAYS days old (staff always are).
Everybody waits COMMUNITY_POST_INTERVAL_SECONDS between two posts (a Redis limiter shared by
every process, so two posts sent at once cannot both pass the daily counts either).

Images. Our pages load nothing from another host (CSP), so no post shows a picture: a new
account's image syntax is refused with a message; a trusted account's is kept and shown as a
link to the picture, labelled "Image: <its description>" (opsx.markdown.render_community).

Flags: one per person per post, never on your own. COMMUNITY_FLAGS_TO_HIDE unreviewed flags
hide the post (hidden="flags") until staff look. Flagging locks the post's row first
(select_for_update), so two people flagging at once are counted one after the other and no
flag is lost. Once staff dismissed a post's flags (flags_reviewed_at), later flags put it back
on staff's "flagged, waiting" list but no longer hide it by themselves.

Deleting by the author keeps the post's place in the thread (replies keep their context): the
body is emptied and the post shows as "Removed by its author" (hidden="author"); a removal
request does the same with hidden="removal". Staff hide and restore; a post its author or a
removal request took down is never restored. Every change is audited (client NO_CLIENT: the
community belongs to no client).
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.services import limit_use, retry_time
from clients import audit
from opsx import markdown

from .models import BlogComment, CommunityBan, Flag, ForumPost, ForumTopic, Moderated, TopicRead

Action = audit.Action
Hidden = Moderated.Hidden

MAX_BODY_CHARS = 20_000
MAX_TITLE_CHARS = ForumTopic._meta.get_field("title").max_length

# Said before anyone posts: the forum and the comments are public.
PUBLIC_NOTICE = (
    "Everything you post here is public: anyone on the internet can read it, with the name "
    "shown next to it (your first name and the initial of your last name). Do not post "
    "personal information about yourself or others."
)

# What each kind of post records in the audit trail.
_ACTIONS = {
    ForumPost: {
        "posted": Action.FORUM_POST_REPLIED,
        "edited": Action.FORUM_POST_EDITED,
        "deleted": Action.FORUM_POST_DELETED,
    },
    BlogComment: {
        "posted": Action.BLOG_COMMENT_POSTED,
        "edited": Action.BLOG_COMMENT_EDITED,
        "deleted": Action.BLOG_COMMENT_DELETED,
    },
}


def _record(actor, action, target, **kwargs) -> None:
    audit.record(actor=actor, action=action, target=target, client=audit.NO_CLIENT, **kwargs)


# --- who may post, and how much -------------------------------------------------------------


def active_ban(user) -> CommunityBan | None:
    """The user's ban if it still runs, else None."""
    ban = CommunityBan.objects.filter(user=user).first()
    if ban is None or (ban.until is not None and ban.until <= timezone.now()):
        return None
    return ban


def require_may_post(user) -> None:
    """Raise ValidationError saying why `user` may not post (signed out, deactivated,
    banned), else return."""
    if user is None or not user.is_authenticated:
        raise ValidationError("Sign in to post.", code="signed_out")
    if not user.is_active:
        raise ValidationError("This account is deactivated: it cannot post.", code="inactive")
    ban = active_ban(user)
    if ban is not None:
        until = f" until {ban.until:%Y-%m-%d %H:%M %Z}" if ban.until else ""
        raise ValidationError(
            f"You may not post in the community{until}. The reason staff gave: {ban.reason}",
            code="banned",
        )


def posts_by(user) -> int:
    return (
        ForumPost.objects.filter(author=user).count()
        + BlogComment.objects.filter(author=user).count()
    )


def is_trusted(user, *, now: datetime | None = None) -> bool:
    """Past the first trust level: read enough topics, posted enough, old enough. Staff are."""
    if user.is_staff:
        return True
    now = now or timezone.now()
    if user.date_joined > now - timedelta(days=settings.COMMUNITY_TRUST_DAYS):
        return False
    read = TopicRead.objects.filter(user=user).count()
    return read >= settings.COMMUNITY_TRUST_TOPICS_READ and posts_by(user) >= (
        settings.COMMUNITY_TRUST_POSTS
    )


def clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError("Give the topic a title.", code="title")
    if len(title) > MAX_TITLE_CHARS:
        raise ValidationError(
            f"A title has at most {MAX_TITLE_CHARS} characters; this one has {len(title)}.",
            code="title",
        )
    return title


def clean_body(body: str, *, trusted: bool) -> str:
    """The body as stored (trailing spaces trimmed), or ValidationError: empty, too long, too
    many links or an image from a new account."""
    body = (body or "").strip()
    if not body:
        raise ValidationError("Write something first: the post is empty.", code="body")
    if len(body) > MAX_BODY_CHARS:
        raise ValidationError(
            f"A post has at most {MAX_BODY_CHARS:,} characters; this one has {len(body):,}. "
            "Shorten it or split it in two.",
            code="too_long",
        )
    links, images = markdown.inventory(body)
    if not trusted:
        if images:
            raise ValidationError(
                "New members cannot post images yet, and our pages never show pictures from "
                "other sites. Remove the image (![…](…)) or link to the picture instead.",
                code="image",
            )
        if links > settings.COMMUNITY_NEW_MAX_LINKS:
            raise ValidationError(
                f"New members may put at most {settings.COMMUNITY_NEW_MAX_LINKS} links in a "
                f"post; this one has {links}. The limit goes once you have read and posted a "
                "little.",
                code="links",
            )
    return body


def _require_daily_allowance(user, *, topic: bool, trusted: bool, now: datetime) -> None:
    since = now - timedelta(days=1)
    if topic:
        made = ForumTopic.objects.filter(author=user, created_at__gte=since).count()
        allowed = (
            settings.COMMUNITY_TRUSTED_TOPICS_PER_DAY
            if trusted
            else settings.COMMUNITY_NEW_TOPICS_PER_DAY
        )
        what = "topics"
    else:
        made = (
            ForumPost.objects.filter(author=user, created_at__gte=since, is_first=False).count()
            + BlogComment.objects.filter(author=user, created_at__gte=since).count()
        )
        allowed = (
            settings.COMMUNITY_TRUSTED_REPLIES_PER_DAY
            if trusted
            else settings.COMMUNITY_NEW_REPLIES_PER_DAY
        )
        what = "replies and comments"
    if made >= allowed:
        level = (
            ""
            if trusted
            else " as a new member (the limit rises once you have read and posted a little)"
        )
        raise ValidationError(
            f"You have posted {made} {what} in the last 24 hours, the most allowed{level}. "
            "Nothing was posted; try again later.",
            code="daily_limit",
        )


def _require_interval(user) -> None:
    key = "community-post:" + hashlib.sha256(str(user.pk).encode()).hexdigest()
    retry = limit_use(key, amount=1, window=settings.COMMUNITY_POST_INTERVAL_SECONDS)
    if retry is not None:
        raise ValidationError(
            f"You are posting quickly: one post per {settings.COMMUNITY_POST_INTERVAL_SECONDS} "
            f"seconds. Nothing was posted; send it again after {retry_time(retry)}.",
            code="rate_limited",
        )


def checked_new_post(*, user, body: str, topic: bool) -> str:
    """Everything a new post (a topic's opening post when `topic`, else a reply or a comment)
    must pass, cheapest first; the rate limiter counts last, so a refused post uses none of
    it. Returns the body to store."""
    require_may_post(user)
    now = timezone.now()
    trusted = is_trusted(user, now=now)
    body = clean_body(body, trusted=trusted)
    _require_daily_allowance(user, topic=topic, trusted=trusted, now=now)
    _require_interval(user)
    return body


# --- what readers see -------------------------------------------------------------------------


def author_name(user) -> str:
    """The name shown publicly next to a post: first name and last initial ("Alice A."), never
    the email address; staff are marked as such. An erased account is "A former member"."""
    if user is None:
        return "A former member"
    parts = (user.full_name or "").split()
    if not parts:
        name = "A member"
    elif len(parts) == 1:
        name = parts[0]
    else:
        name = f"{parts[0]} {parts[-1][0]}."
    return f"{name} (OpsX staff)" if user.is_staff else name


def render_body(post: Moderated) -> str:
    """The post's HTML: opsx.markdown, sanitised; images shown as links (only trusted authors
    could write them)."""
    return markdown.render_community(post.body)


@dataclass(frozen=True)
class Shown:
    """A post as one reader sees it."""

    post: Moderated
    author: str
    html: str  # empty when the reader sees only the placeholder
    note: str  # why it is hidden (to staff and its author), or the placeholder text
    mine: bool
    visible: bool  # body shown (to everyone, or to staff and the author with a note)


HIDDEN_TEXT = {
    Hidden.FLAGS: "This post is hidden while staff review it.",
    Hidden.STAFF: "This post is hidden.",
    Hidden.AUTHOR: "Removed by its author.",
    Hidden.REMOVAL: "Removed on a privacy request.",
}


def shown(post: Moderated, viewer) -> Shown:
    """A hidden post is shown to staff and to its author with a note; everybody else sees only
    the placeholder (no author, no text), so replies keep their place in the thread."""
    signed_in = viewer is not None and viewer.is_authenticated
    mine = signed_in and post.author_id == viewer.pk
    if not post.hidden:
        return Shown(post, author_name(post.author), render_body(post), "", mine, True)
    privileged = signed_in and (viewer.is_staff or mine)
    if privileged and post.hidden in (Hidden.FLAGS, Hidden.STAFF):
        reason = f" Reason: {post.hidden_reason}" if post.hidden_reason else ""
        note = f"Only you and staff see this post: {post.get_hidden_display().lower()}.{reason}"
        return Shown(post, author_name(post.author), render_body(post), note, mine, True)
    return Shown(post, "", "", HIDDEN_TEXT.get(post.hidden, "This post is hidden."), mine, False)


# --- changes to one post ----------------------------------------------------------------------


def require_staff(actor) -> None:
    if actor is None or not actor.is_staff:
        raise PermissionDenied("Only staff moderate the community.")


def _locked(post: Moderated) -> Moderated:
    return type(post).objects.select_for_update().get(pk=post.pk)


def _refresh_topic(post: Moderated) -> None:
    """A forum post changed visibility: its topic's shown-reply count, and the topic's own
    hidden flag when it is the opening post (hiding the opening post hides the topic)."""
    if not isinstance(post, ForumPost):
        return
    topic = ForumTopic.objects.select_for_update().get(pk=post.topic_id)
    topic.reply_count = topic.posts.filter(is_first=False, hidden="").count()
    fields = ["reply_count"]
    if post.is_first:
        topic.hidden = bool(post.hidden)
        fields.append("hidden")
    topic.save(update_fields=fields)


def _review_flags(post: Moderated, now: datetime) -> int:
    reviewed = post.flags.filter(reviewed_at__isnull=True).update(reviewed_at=now)
    post.flag_count = 0
    post.flags_reviewed_at = now
    return reviewed


@transaction.atomic
def post_flag(*, post: Moderated, reason: str, note: str = "", actor) -> Flag:
    """`actor` flags `post`. Refused: signed out, banned, their own post, a post already
    hidden, a second flag by the same person. The post's row is locked first, so concurrent
    flags are counted in turn; the one that reaches COMMUNITY_FLAGS_TO_HIDE hides it (unless
    staff already kept it once)."""
    require_may_post(actor)
    if reason not in Flag.Reason.values:
        raise ValidationError("Choose why you flag this post.", code="reason")
    note = " ".join((note or "").split())
    if len(note) > 300:
        raise ValidationError("A note has at most 300 characters.", code="note")
    post = _locked(post)
    if post.author_id == actor.pk:
        raise ValidationError("You cannot flag your own post: edit or delete it.", code="own")
    if post.hidden:
        raise ValidationError("This post is already hidden.", code="hidden")
    target = {"forum_post" if isinstance(post, ForumPost) else "blog_comment": post}
    if Flag.objects.filter(flagger=actor, **target).exists():
        raise ValidationError("You have already flagged this post; staff will look.", code="twice")
    flag = Flag.objects.create(flagger=actor, reason=reason, note=note, **target)
    post.flag_count = post.flags.filter(reviewed_at__isnull=True).count()
    fields = ["flag_count"]
    hides = post.flag_count >= settings.COMMUNITY_FLAGS_TO_HIDE and post.flags_reviewed_at is None
    if hides:
        post.hidden = Hidden.FLAGS
        post.hidden_reason = "Flagged by several members."
        fields += ["hidden", "hidden_reason"]
    post.save(update_fields=fields)
    _record(actor, Action.COMMUNITY_FLAGGED, post)
    if hides:
        _record(None, Action.COMMUNITY_HIDDEN_BY_FLAGS, post, counts={"flags": post.flag_count})
        _refresh_topic(post)
    return flag


@transaction.atomic
def post_hide(*, post: Moderated, reason: str = "", actor) -> Moderated:
    """Staff hide a shown (or flag-hidden) post; its waiting flags count as reviewed."""
    require_staff(actor)
    post = _locked(post)
    if post.hidden not in (Hidden.NO, Hidden.FLAGS):
        raise ValidationError("This post is already hidden or removed.", code="hidden")
    reviewed = _review_flags(post, timezone.now())
    post.hidden = Hidden.STAFF
    post.hidden_reason = " ".join((reason or "").split())[:300]
    post.save(update_fields=["hidden", "hidden_reason", "flag_count", "flags_reviewed_at"])
    _record(actor, Action.COMMUNITY_HIDDEN, post, counts={"flags_reviewed": reviewed})
    _refresh_topic(post)
    return post


@transaction.atomic
def post_restore(*, post: Moderated, actor) -> Moderated:
    """Staff show again a post hidden by staff or by flags (never one its author or a removal
    request took down: its text is gone)."""
    require_staff(actor)
    post = _locked(post)
    if post.hidden not in (Hidden.FLAGS, Hidden.STAFF):
        raise ValidationError("Only a post hidden by staff or by flags can be restored.")
    reviewed = _review_flags(post, timezone.now())
    post.hidden = Hidden.NO
    post.hidden_reason = ""
    post.save(update_fields=["hidden", "hidden_reason", "flag_count", "flags_reviewed_at"])
    _record(actor, Action.COMMUNITY_RESTORED, post, counts={"flags_reviewed": reviewed})
    _refresh_topic(post)
    return post


@transaction.atomic
def post_dismiss_flags(*, post: Moderated, actor) -> Moderated:
    """Staff looked and keep the post: its flags are reviewed, a post hidden by them is shown
    again, and later flags no longer hide it by themselves."""
    require_staff(actor)
    post = _locked(post)
    reviewed = _review_flags(post, timezone.now())
    fields = ["flag_count", "flags_reviewed_at"]
    if post.hidden == Hidden.FLAGS:
        post.hidden, post.hidden_reason = Hidden.NO, ""
        fields += ["hidden", "hidden_reason"]
    post.save(update_fields=fields)
    _record(actor, Action.COMMUNITY_FLAGS_DISMISSED, post, counts={"flags_reviewed": reviewed})
    _refresh_topic(post)
    return post


def require_author(post: Moderated, actor) -> None:
    """Only the author changes their post; anyone else gets PermissionDenied (the views answer
    404, so a post's id tells nobody whose it is)."""
    if actor is None or not actor.is_authenticated or post.author_id != actor.pk:
        raise PermissionDenied("Only its author may change this post.")


@transaction.atomic
def post_edit(*, post: Moderated, body: str, actor) -> Moderated:
    """The author rewrites their post (the same limits as a new post's text, no daily count).
    A post staff hid, or one removed, cannot be edited."""
    require_author(post, actor)
    require_may_post(actor)
    post = _locked(post)
    if post.hidden not in (Hidden.NO, Hidden.FLAGS):
        raise ValidationError("This post is hidden or removed: it cannot be edited.")
    post.body = clean_body(body, trusted=is_trusted(actor))
    post.edited_at = timezone.now()
    post.save(update_fields=["body", "edited_at"])
    _record(actor, _ACTIONS[type(post)]["edited"], post, changes={"body": (None, None)})
    return post


@transaction.atomic
def post_delete(*, post: Moderated, actor) -> Moderated:
    """The author deletes their post: its text is emptied, its place stays as "Removed by its
    author". Deleting a topic's opening post hides the topic."""
    require_author(post, actor)
    post = _locked(post)
    if post.hidden in (Hidden.AUTHOR, Hidden.REMOVAL):
        raise ValidationError("This post is already removed.")
    reviewed = _review_flags(post, timezone.now())
    post.body, post.hidden, post.hidden_reason = "", Hidden.AUTHOR, ""
    post.save(update_fields=["body", "hidden", "hidden_reason", "flag_count", "flags_reviewed_at"])
    _record(actor, _ACTIONS[type(post)]["deleted"], post, counts={"flags_reviewed": reviewed})
    _refresh_topic(post)
    return post


@transaction.atomic
def post_remove_for_request(*, post: Moderated, actor) -> Moderated:
    """Staff remove a post on a privacy removal request: the text is emptied for good and the
    post shows as "Removed on a privacy request"."""
    require_staff(actor)
    post = _locked(post)
    reviewed = _review_flags(post, timezone.now())
    post.body, post.hidden, post.hidden_reason = "", Hidden.REMOVAL, ""
    post.save(update_fields=["body", "hidden", "hidden_reason", "flag_count", "flags_reviewed_at"])
    _record(actor, Action.COMMUNITY_REMOVED, post, counts={"flags_reviewed": reviewed})
    _refresh_topic(post)
    return post


# --- bans -------------------------------------------------------------------------------------


@transaction.atomic
def user_ban(*, user, reason: str, until: datetime | None = None, actor) -> CommunityBan:
    """Staff stop `user` posting (and flagging) until `until`, or for good. Banning again
    replaces the earlier ban."""
    require_staff(actor)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError("Give the reason: the person is shown it.", code="reason")
    if len(reason) > 300:
        raise ValidationError("A reason has at most 300 characters.", code="reason")
    if until is not None and until <= timezone.now():
        raise ValidationError("The end of a ban must be in the future.", code="until")
    if user.pk == actor.pk:
        raise ValidationError("You cannot ban yourself.", code="self")
    ban, _created = CommunityBan.objects.update_or_create(
        user=user, defaults={"reason": reason, "until": until, "banned_by": actor}
    )
    _record(actor, Action.COMMUNITY_BANNED, user)
    return ban


@transaction.atomic
def user_unban(*, user, actor) -> bool:
    """Staff lift `user`'s ban. False when there was none."""
    require_staff(actor)
    deleted, _ = CommunityBan.objects.filter(user=user).delete()
    if deleted:
        _record(actor, Action.COMMUNITY_UNBANNED, user)
    return bool(deleted)


# --- staff's lists ----------------------------------------------------------------------------

# The "flagged, waiting" filter: unreviewed flags on a post staff have not taken down.
WAITING = Q(flag_count__gt=0) & Q(hidden__in=[Hidden.NO, Hidden.FLAGS])
