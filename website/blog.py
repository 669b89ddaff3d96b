"""The blog: staff write posts in Django admin (Markdown, opsx.markdown renders it without raw
HTML), publish them now or at a later time, and take them off the site again. Visitors read
/blog/, each post's page, the Atom feed and the sitemap; all of them ask `published_posts()`,
so a draft or a post whose time has not come is nowhere.

Every change goes through a service here and is audited (client NO_CLIENT: the blog belongs
to HexCM, not to a client). The cover image is checked and re-encoded without its metadata
(opsx.images) and served by a view that answers only while the post is published.
"""

import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from clients import audit
from clients.audit import NO_CLIENT
from clients.models import AuditEvent
from opsx import images

from .models import BlogPost

Status = BlogPost.Status
Action = AuditEvent.Action

# A post's Markdown: a long article fits many times over; a pasted book does not.
BODY_MAX_LENGTH = 100_000
# What staff write; a change of any is recorded by name (never its words) in the audit trail.
TEXT_FIELDS = ("title", "slug", "description", "body", "cover_alt", "author_id", "comments_open")
# What the lists (/blog/, the feed, the sitemap) read of a post.
LIST_COLUMNS = (
    "title",
    "slug",
    "description",
    "published_at",
    "updated_at",
    "author__full_name",
)


# --- queries ------------------------------------------------------------------------------


def published_posts() -> QuerySet[BlogPost]:
    """The posts on the site: published and their time come, newest first, with the columns
    the lists show and their author (one query, on the index blogpost_status_published)."""
    return (
        BlogPost.objects.filter(status=Status.PUBLISHED, published_at__lte=timezone.now())
        .select_related("author")
        .only(*LIST_COLUMNS)
        .order_by("-published_at", "-pk")
    )


def feed_posts(limit: int = 20) -> list[BlogPost]:
    """The newest posts on the site with their bodies, for the Atom feed."""
    return list(published_posts().only(*LIST_COLUMNS, "body")[:limit])


def published_post(slug: str) -> BlogPost | None:
    """The post at /blog/<slug>/, or None when there is none on the site (unknown, a draft,
    or published for a time still to come)."""
    return (
        BlogPost.objects.filter(
            slug=slug, status=Status.PUBLISHED, published_at__lte=timezone.now()
        )
        .select_related("author")
        .first()
    )


def published_cover(slug: str) -> BlogPost | None:
    """The post on the site with a cover, by slug, with the cover's name only; None for any
    other, so a draft's cover answers 404 like the draft."""
    return (
        BlogPost.objects.filter(
            slug=slug, status=Status.PUBLISHED, published_at__lte=timezone.now()
        )
        .exclude(cover="")
        .only("pk", "cover")
        .first()
    )


def is_on_site(post: BlogPost, now=None) -> bool:
    now = now or timezone.now()
    return (
        post.status == Status.PUBLISHED
        and post.published_at is not None
        and (post.published_at <= now)
    )


# --- services -----------------------------------------------------------------------------


def _locked(post: BlogPost) -> BlogPost:
    return BlogPost.objects.select_for_update().get(pk=post.pk)


def _clean_text(post: BlogPost) -> None:
    post.title = " ".join(post.title.split())
    post.description = " ".join(post.description.split())
    post.cover_alt = " ".join(post.cover_alt.split())
    post.slug = post.slug.strip().lower()
    post.body = post.body.strip()
    if len(post.body) > BODY_MAX_LENGTH:  # a TextField's max_length is the form's only
        raise ValidationError(
            {"body": f"The post may be at most {BODY_MAX_LENGTH:,} characters long."}
        )


@transaction.atomic
def blog_post_save(*, post: BlogPost, actor: User, cover_upload=None) -> BlogPost:
    """Create or update a post from staff's form (Django admin).

    `cover_upload`: a newly uploaded cover (checked and re-encoded by opsx.images, stored
    under a random name), or None to keep the stored one (or its removal, when the form
    cleared it). A new post is a draft written by `actor` unless an author is given. Status
    and publish time are the services' own (blog_post_publish, blog_post_unpublish): what the
    form says of them is ignored. A cover needs its alternative text.
    """
    _clean_text(post)
    if cover_upload is not None:
        post.cover = images.clean(cover_upload, what="cover image", name=uuid.uuid4().hex)
    if post.cover and not post.cover_alt:
        raise ValidationError(
            {"cover_alt": "Say what the cover shows, for people who cannot see it."}
        )
    old_cover = ""
    if post.pk is None:
        post.author = post.author or actor
        post.status = Status.DRAFT
        post.published_at = None
        changed = ["created"]
    else:
        stored = _locked(post)
        old_cover = stored.cover.name if stored.cover else ""
        changed = [name for name in TEXT_FIELDS if getattr(stored, name) != getattr(post, name)]
        if old_cover != (post.cover.name if post.cover else ""):
            changed.append("cover")
        post.status, post.published_at = stored.status, stored.published_at
    post.full_clean(exclude=["cover", "author"])
    post.save()
    if old_cover and old_cover != (post.cover.name if post.cover else ""):
        images.delete_on_commit(old_cover)
    if changed:
        audit.record(
            actor=actor,
            action=Action.BLOG_POST_SAVED,
            target=post,
            client=NO_CLIENT,
            changes={name.removesuffix("_id"): () for name in changed if name != "created"},
        )
    return post


@transaction.atomic
def blog_post_publish(*, post: BlogPost, actor: User, at=None) -> bool:
    """Publish a post now (`at` None) or at a future time `at` (it stays off the site until
    then: every query asks for published_at <= now). Publishing again moves the time: a
    scheduled post can be brought forward to now or put off. True if anything changed;
    ValidationError for a time in the past (it would backdate the post)."""
    post = _locked(post)
    now = timezone.now()
    if at is not None and at < now:
        raise ValidationError(
            "The publish time is in the past: leave it empty to publish now, or give a time "
            "still to come."
        )
    if at is None and is_on_site(post, now):
        return False
    previous = post.status
    post.status = Status.PUBLISHED
    post.published_at = at or now
    post.save(update_fields=["status", "published_at", "updated_at"])
    audit.record(
        actor=actor,
        action=Action.BLOG_POST_PUBLISHED,
        target=post,
        client=NO_CLIENT,
        changes={"status": (previous, post.status)} | ({"published_at": ()} if at else {}),
    )
    return True


@transaction.atomic
def blog_post_unpublish(*, post: BlogPost, actor: User) -> bool:
    """Take a post off the site (or cancel its scheduled publication): it is a draft again.
    True if it was published or scheduled."""
    post = _locked(post)
    if post.status != Status.PUBLISHED:
        return False
    post.status = Status.DRAFT
    post.published_at = None
    post.save(update_fields=["status", "published_at", "updated_at"])
    audit.record(
        actor=actor,
        action=Action.BLOG_POST_UNPUBLISHED,
        target=post,
        client=NO_CLIENT,
        changes={"status": (Status.PUBLISHED, Status.DRAFT)},
    )
    return True


@transaction.atomic
def blog_post_delete(*, post: BlogPost, actor: User) -> None:
    """Delete a post with its comments, and its cover once that commits."""
    post = _locked(post)
    images.delete_on_commit(post.cover.name if post.cover else "")
    audit.record(actor=actor, action=Action.BLOG_POST_DELETED, target=post, client=NO_CLIENT)
    post.delete()
