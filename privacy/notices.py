"""Notices: legal notices staff send to every user or to the users of chosen clients (a change
of ownership, a material policy change, a security incident), and their banner.

Sending (`send_notice`) marks the notice sent and enqueues `privacy.tasks.privacy_notice_deliver`,
which mails one LEGAL message (legal notices ignore opt-outs) to every active client user with
a verified address who had joined by then, in batches: each batch locks the notice, picks
users with no NoticeDelivery yet, and commits their mails with their NoticeDelivery rows
(unique per notice and user). A crash loses at most the uncommitted batch, which the next run
(the task again, or the periodic sweep) redoes; nobody is mailed twice, nobody skipped.

While a notice is current (sent; from `current_from`, or its sending, until `current_until`,
or for good) every page shows its banner to the signed-in users of its audience until they
dismiss it; anonymous visitors on the public site see the notices addressed to all users, and
cannot dismiss them (no cookie: the notice stays up while it is current, as the policy asks of
a notice on the website). The current notices come from the cache, so a page pays at most one
query: the user's dismissals, and only when a notice concerns them.

A material policy change's notice is a Notice too (`policy_version` set, privacy.policies).
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from clients import audit
from clients.models import AuditEvent
from opsx import mail
from opsx.models import OutboundMessage

from .models import Notice, NoticeDelivery

logger = logging.getLogger(__name__)

# Users one transaction of the send mails; a crash loses at most one batch's work.
NOTICE_BATCH = 500

# The notices that are or will be current, for the banner on every page.
CURRENT_CACHE_KEY = "privacy:notices-current"
CURRENT_CACHE_SECONDS = 300
CURRENT_GENERATION_KEY = "privacy:notices-generation"

# The periodic sweep finishes the sends started this recently (a worker that died mid-way).
RESUME_WITHIN = timedelta(days=7)


# --- queries ------------------------------------------------------------------------------


def notice_audience(notice: Notice) -> QuerySet[User]:
    """Who the notice is mailed to: active client users with a verified address who had joined
    when it was sent (or now, before it is sent), of the chosen clients if it names some."""
    verified = EmailAddress.objects.filter(user=OuterRef("pk"), email=OuterRef("email"))
    users = User.objects.filter(
        is_active=True,
        client__isnull=False,
        date_joined__lte=notice.sent_at or timezone.now(),
    ).filter(Exists(verified.filter(verified=True)))
    if notice.audience == Notice.Audience.CLIENTS:
        users = users.filter(client__in=notice.clients.values("pk"))
    return users


def _unmailed(notice: Notice) -> QuerySet[User]:
    told = NoticeDelivery.objects.filter(notice=notice, user=OuterRef("pk"))
    return notice_audience(notice).exclude(Exists(told)).order_by("pk")


def notice_progress(notice: Notice) -> dict:
    """{delivered, audience}: users mailed so far, and users the send is for."""
    if notice.sent_at is None:
        return {"delivered": 0, "audience": notice_audience(notice).count()}
    return {
        "delivered": NoticeDelivery.objects.filter(notice=notice).count(),
        "audience": notice_audience(notice).count()
        + NoticeDelivery.objects.filter(notice=notice)
        .exclude(user__in=notice_audience(notice).values("pk"))
        .count(),
    }


def delivered_count(**match):
    """An annotation: how many deliveries of the notice `match` names from the outer row
    (`notice=OuterRef("pk")`, `notice__policy_version=OuterRef("pk")`), 0 for none; a
    subquery, so an admin list counts in its one query."""
    counted = (
        NoticeDelivery.objects.filter(**match)
        .order_by()
        .values("notice")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


@dataclass(frozen=True)
class Banner:
    """What a page shows of one current notice (from the cache: plain values only)."""

    id: int
    public_id: str
    title: str
    body_html: str
    audience: str
    client_ids: tuple[int, ...]
    starts: datetime
    ends: datetime | None
    policy_label: str = ""  # a policy change's notice: the version's label and day
    policy_effective_on: object = None

    def current(self, now: datetime) -> bool:
        return self.starts <= now and (self.ends is None or now < self.ends)

    def for_user(self, user) -> bool:
        return self.audience == Notice.Audience.ALL or user.client_id in self.client_ids


def _load_current(now: datetime) -> list[Banner]:
    """Sent notices not yet ended, and their clients: two queries (portable: the embedded
    default runs on SQLite, which has no array aggregate)."""
    notices = list(
        Notice.objects.filter(sent_at__isnull=False)
        .filter(Q(current_until__isnull=True) | Q(current_until__gt=now))
        .select_related("policy_version")
        .order_by("sent_at", "pk")
    )
    audiences: dict[int, list[int]] = {n.pk: [] for n in notices}
    if notices:
        through = Notice.clients.through.objects.filter(notice_id__in=list(audiences))
        for notice_id, client_id in through.values_list("notice_id", "client_id"):
            audiences[notice_id].append(client_id)
    return [
        Banner(
            id=n.pk,
            public_id=str(n.public_id),
            title=n.title,
            body_html=str(n.rendered_body),
            audience=n.audience,
            client_ids=tuple(sorted(audiences[n.pk])),
            starts=max(filter(None, [n.current_from, n.sent_at])),
            ends=n.current_until,
            policy_label=n.policy_version.label if n.policy_version else "",
            policy_effective_on=n.policy_version.effective_on if n.policy_version else None,
        )
        for n in notices
    ]


def _cache_key(client_id: int | None) -> str:
    """The cache key of the current notices as one client's users see them.

    Per client, because the notices' client lists are read under the request's row-level
    security (privacy_notice_clients has a client key): a list filled in client A's request
    holds only A among each notice's clients, right for A's users and wrong for B's. The
    generation changes whenever a notice is saved or sent, retiring every client's entry."""
    generation = cache.get_or_set(CURRENT_GENERATION_KEY, time.time_ns, None)
    return f"{CURRENT_CACHE_KEY}:{generation}:{client_id or '-'}"


def notices_current(now: datetime | None = None, *, client_id: int | None = None) -> list[Banner]:
    """The notices current at `now` as the users of `client_id` (None: visitors and staff)
    see them, from the cache (filled by one query; retired when a notice is sent or changed).
    Costs no query while the cache holds them."""
    now = now or timezone.now()
    key = _cache_key(client_id)
    cached = cache.get(key)
    if cached is None:
        cached = _load_current(now)
        cache.set(key, cached, CURRENT_CACHE_SECONDS)
    return [banner for banner in cached if banner.current(now)]


def banners_for(user, now: datetime | None = None) -> list[Banner]:
    """The banners a page shows `user` (AnonymousUser included). At most one query: the
    user's dismissals, asked only when a current notice concerns them."""
    signed_in = getattr(user, "is_authenticated", False)
    current = notices_current(now, client_id=user.client_id if signed_in else None)
    if not current:
        return []
    if not signed_in:
        return [b for b in current if b.audience == Notice.Audience.ALL]
    if user.client_id is None:
        return []  # HexCM staff are in no notice's audience
    mine = [b for b in current if b.for_user(user)]
    if not mine:
        return []
    dismissed = set(
        NoticeDelivery.objects.filter(
            user=user, notice_id__in=[b.id for b in mine], dismissed_at__isnull=False
        ).values_list("notice_id", flat=True)
    )
    return [b for b in mine if b.id not in dismissed]


def clear_current_cache() -> None:
    transaction.on_commit(lambda: cache.set(CURRENT_GENERATION_KEY, time.time_ns(), None))


# --- services -----------------------------------------------------------------------------


def _validate(notice: Notice, clients) -> None:
    errors = {}
    if not (notice.title or "").strip():
        errors["title"] = "Write the notice's title."
    if not (notice.body or "").strip():
        errors["body"] = "Write the notice's text."
    if notice.audience == Notice.Audience.CLIENTS and not clients:
        errors["clients"] = "Choose the clients whose users are told, or send it to every user."
    if notice.current_from and notice.current_until and notice.current_until <= notice.current_from:
        errors["current_until"] = "The banner must end after it starts."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def notice_save(*, notice: Notice, actor: User, clients=None) -> Notice:
    """Create or change a notice (admin's form). Once sent, only its banner dates change:
    what users were told stays as it was told. `clients`: the chosen clients (None: keep)."""
    stored = Notice.objects.select_for_update().filter(pk=notice.pk).first() if notice.pk else None
    if stored is not None and stored.sent_at is not None:
        stored.current_from, stored.current_until = notice.current_from, notice.current_until
        notice = stored
        clients = None
    chosen = (
        list(clients) if clients is not None else list(notice.clients.all()) if notice.pk else []
    )
    _validate(notice, chosen)
    if notice.pk is None:
        notice.created_by = actor
    notice.save()
    if clients is not None:
        notice.clients.set(chosen)
    audit.record(
        actor=actor, action=AuditEvent.Action.NOTICE_SAVED, target=notice, client=audit.NO_CLIENT
    )
    clear_current_cache()
    return notice


@transaction.atomic
def send_notice(notice: Notice, *, actor: User | None) -> Notice:
    """Send `notice`: from now on it is current (within its dates) and every user of its
    audience is mailed it, by `privacy.tasks.privacy_notice_deliver` enqueued on commit.
    Refused (ValidationError) when already sent, without its clients, or already ended."""
    stored = Notice.objects.select_for_update().get(pk=notice.pk)
    if stored.sent_at is not None:
        raise ValidationError(f"“{stored.title}” was already sent on {stored.sent_at:%d %B %Y}.")
    _validate(stored, list(stored.clients.all()))
    now = timezone.now()
    if stored.current_until is not None and stored.current_until <= now:
        raise ValidationError(f"“{stored.title}” ends before now: change its end date first.")
    stored.sent_at = now
    stored.save(update_fields=["sent_at"])
    audit.record(
        actor=actor,
        action=AuditEvent.Action.NOTICE_SENT,
        target=stored,
        client=audit.NO_CLIENT,
        changes={"audience": (None, stored.audience)},
        counts={"users": notice_audience(stored).count()},
    )
    clear_current_cache()
    notice_id = stored.pk
    transaction.on_commit(lambda: _enqueue_deliver(notice_id))
    notice.sent_at = now
    return stored


def _enqueue_deliver(notice_id: int) -> None:
    from .tasks import privacy_notice_deliver

    try:
        privacy_notice_deliver.delay(notice_id)
    except Exception as exc:  # the broker is down: the periodic sweep sends it later
        logger.warning("Could not enqueue the mailing of notice %s (%s)", notice_id, exc)


def _queue_mails(notice: Notice, users: list[User], now: datetime) -> None:
    """One LEGAL mail per user and their NoticeDelivery rows, in the caller's transaction."""
    version = notice.policy_version
    if version is not None:
        template = "privacy-policy-change"
        context = {
            "label": version.label,
            "effective_on": version.effective_on,
            "summary": version.summary,
            "path": reverse("privacy_version", args=[version.label]),
        }
    else:
        template = "notice"
        context = {"title": notice.title, "body": notice.body, "body_html": notice.rendered_body}
    for user in users:
        mail.queue(
            to=user.email,
            template=template,
            context={**context, "name": user.full_name},
            category=OutboundMessage.Category.LEGAL,
        )
    NoticeDelivery.objects.bulk_create(
        [NoticeDelivery(notice=notice, user=user, delivered_at=now) for user in users]
    )


def _finish(notice: Notice) -> None:
    """The last batch is done: record it once (and a policy change's `notified_at`)."""
    done = AuditEvent.objects.filter(
        action=AuditEvent.Action.NOTICE_DELIVERED, target_id=notice.public_id
    )
    if not done.exists():
        audit.record(
            actor=None,
            action=AuditEvent.Action.NOTICE_DELIVERED,
            target=notice,
            client=audit.NO_CLIENT,
            counts={"users": notice.deliveries.count()},
        )
    version = notice.policy_version
    if version is not None and version.notified_at is None:
        version.notified_at = timezone.now()
        version.save(update_fields=["notified_at"])
        audit.record(
            actor=None,
            action=AuditEvent.Action.POLICY_NOTICES_SENT,
            target=version,
            counts={"users": notice.deliveries.count()},
        )


def notice_deliver(*, notice_id: int, batch_size: int = NOTICE_BATCH) -> int:
    """Mail the sent notice `notice_id` to every user of its audience not mailed yet, in
    batches of `batch_size` per transaction. Returns how many this run mailed.

    Resumable and safe to run twice at once: each batch locks the notice's row, picks users
    without a NoticeDelivery, and commits their mails with those rows (see the module's
    docstring)."""
    mailed = 0
    while True:
        with transaction.atomic():
            notice = (
                Notice.objects.select_for_update(of=("self",))
                .select_related("policy_version")
                .filter(pk=notice_id, sent_at__isnull=False)
                .first()
            )
            if notice is None:
                return mailed  # not sent (or gone): nobody is mailed
            users = list(_unmailed(notice).only("pk", "email", "full_name")[:batch_size])
            if not users:
                _finish(notice)
                return mailed
            _queue_mails(notice, users, timezone.now())
            mailed += len(users)


def notices_deliver_pending() -> int:
    """Finish the sends started within RESUME_WITHIN (a broker that was down, a worker that
    died mid-way). Returns how many users were mailed."""
    since = timezone.now() - RESUME_WITHIN
    pending = Notice.objects.filter(sent_at__gte=since).values_list("pk", flat=True)
    return sum(notice_deliver(notice_id=pk) for pk in pending)


@transaction.atomic
def notice_dismiss(*, public_id, user: User) -> None:
    """`user` dismisses the banner of the current notice `public_id` (Http404 if it is not
    current or not for them). A user of the audience not mailed yet (the send is still under
    way, or they joined after it) is mailed it now, so every NoticeDelivery row means "told
    by mail" and the send never skips them."""
    notice = (
        Notice.objects.select_for_update(of=("self",))
        .select_related("policy_version")
        .filter(public_id=public_id, sent_at__isnull=False)
        .first()
    )
    now = timezone.now()
    if notice is None or user.client_id is None:
        raise Http404
    banner = next((b for b in _load_current(now) if b.id == notice.pk), None)
    if banner is None or not banner.current(now) or not banner.for_user(user):
        raise Http404
    delivery = NoticeDelivery.objects.filter(notice=notice, user=user).first()
    if delivery is None:
        _queue_mails(notice, [user], now)
        delivery = NoticeDelivery.objects.get(notice=notice, user=user)
    if delivery.dismissed_at is None:
        delivery.dismissed_at = now
        delivery.save(update_fields=["dismissed_at"])
        audit.record(
            actor=user,
            action=AuditEvent.Action.NOTICE_DISMISSED,
            target=notice,
            client=audit.NO_CLIENT,
        )
