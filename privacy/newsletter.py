"""The newsletter: sign-up with double opt-in, unsubscribing, and sending an issue.

Subscribers. The public form records a PENDING NewsletterSubscriber with the wording the
visitor agreed to and mails a confirmation link (an account mail: the visitor asked for it, it
carries no unsubscribe link). Opening the link and pressing its button confirms the address
(`consented_at`); a sign-up left unconfirmed for settings.NEWSLETTER_CONFIRM_DAYS is deleted by
the beat task. Whatever the address (new, pending, confirmed, suppressed), the form answers
the same, so it tells nobody who subscribes; an address already confirmed is not mailed again.
Rate limits per IP and per address keep the form from flooding a stranger's inbox.

Unsubscribing deletes the row at once: every newsletter mail carries the recipient's own
signed link (`unsubscribe_url`), which a one-click POST (RFC 8058) or the page's button uses.
`may_send` is asked by the outbox at send time, so an address that left after an issue was
queued is not mailed.

Issues. Staff write Markdown in admin; `send_issue` renders it once into a MailBatch (the
recipient's link goes where MailBatch.UNSUBSCRIBE_PLACEHOLDER is), records every confirmed
subscriber as a recipient with one INSERT ... SELECT and starts the fan-out (opsx.mail). It is
safe to call again: a send whose recording was cut short records the rest (the outbox skips
addresses already in the batch), a recorded one is left alone.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.services import limit_use, retry_time
from clients import audit
from opsx import mail, signed_links, suppression
from opsx import markdown as opsx_markdown
from opsx.models import MailBatch, OutboundMessage
from opsx.personal_data import keyed_hash

from .models import NewsletterIssue, NewsletterSubscriber

Action = audit.Action
Category = OutboundMessage.Category
Status = NewsletterSubscriber.Status

CONFIRM_PURPOSE = "newsletter-confirm"
UNSUBSCRIBE_PURPOSE = "unsubscribe-newsletter"

# The wording shown next to the public form's button, kept on the subscriber as the record of
# what they agreed to. Change it here only: the page shows this very text.
CONSENT_TEXT = (
    "Yes, email me the OpsX newsletter: product news and tips, about once a month. "
    "I confirm through the link in the email that follows, and every issue carries a link "
    "that unsubscribes me at once."
)


def normalise(email: str) -> str:
    return email.strip().lower()


def _confirm_age() -> timedelta:
    return timedelta(days=settings.NEWSLETTER_CONFIRM_DAYS)


def _unsubscribe_age() -> timedelta:
    return timedelta(days=settings.MAIL_UNSUBSCRIBE_MAX_AGE_DAYS)


# --- the outbox's questions (registered in PrivacyConfig.ready) -------------------------


def may_send(to_email: str) -> bool:
    """A newsletter mail may go to `to_email` only while it is a confirmed subscriber."""
    return NewsletterSubscriber.objects.filter(
        email=normalise(to_email), status=Status.CONFIRMED
    ).exists()


def unsubscribe_url(to_email: str) -> str:
    """The recipient's own one-click unsubscribe link (absolute)."""
    token = signed_links.make(UNSUBSCRIBE_PURPOSE, normalise(to_email))
    return settings.SITE_URL + reverse("privacy:newsletter_unsubscribe", args=[token])


# --- signing up ---------------------------------------------------------------------------


def subscribe_limit(*, ip: str) -> None:
    """Count one sign-up from `ip` against NEWSLETTER_SIGNUPS_PER_IP_PER_HOUR, or raise
    ValidationError (code "rate_limited") saying when to try again."""
    key = "newsletter-ip:" + hashlib.sha256(ip.encode()).hexdigest()
    retry = limit_use(key, amount=settings.NEWSLETTER_SIGNUPS_PER_IP_PER_HOUR, window=3600)
    if retry is not None:
        raise ValidationError(
            "We have received several newsletter sign-ups from your network in the last hour, "
            f"the most we accept. Nothing was sent. Try again after {retry_time(retry)}.",
            code="rate_limited",
        )


@transaction.atomic
def newsletter_subscribe(*, name: str, email: str) -> NewsletterSubscriber | None:
    """A visitor asks for the newsletter from the public form (double opt-in).

    New address: a PENDING subscriber (source PUBLIC_FORM, CONSENT_TEXT) and a confirmation
    mail. Pending: its name and wording refreshed, its expiry restarted, the mail sent again.
    Confirmed, or on the suppression list (a bounce, a complaint): nothing. Each confirmation mail counts against
    NEWSLETTER_CONFIRMATIONS_PER_ADDRESS_PER_DAY; past it the sign-up is recorded but not
    mailed, silently, like everything else the form does not tell. Returns the subscriber (None
    when nothing was done). `email` must be valid (the form checks it); `name` is flattened to
    one line whatever the caller passed."""
    email = normalise(email)
    name = " ".join(name.split())[:150]
    now = timezone.now()
    if suppression.is_suppressed(email, category=Category.NEWSLETTER):
        return None  # a bounce or a complaint: never mailed again, not even the link
    candidate = NewsletterSubscriber(
        email=email,
        name=name,
        source=NewsletterSubscriber.Source.PUBLIC_FORM,
        consent_text=CONSENT_TEXT,
    )
    # INSERT ... ON CONFLICT DO NOTHING, then the stored row under its lock: two sign-ups of
    # one address at once make one row.
    NewsletterSubscriber.objects.bulk_create([candidate], ignore_conflicts=True)
    subscriber = NewsletterSubscriber.objects.select_for_update().get(email=email)
    created = subscriber.public_id == candidate.public_id
    if subscriber.status == Status.CONFIRMED:
        return None
    if not created:
        subscriber.name = name
        subscriber.consent_text = CONSENT_TEXT
        subscriber.source = NewsletterSubscriber.Source.PUBLIC_FORM
        subscriber.created_at = now  # the expiry counts from the newest link
        subscriber.save(update_fields=["name", "consent_text", "source", "created_at"])
    audit.record(
        actor=None, action=Action.NEWSLETTER_SUBSCRIBED, target=subscriber, client=audit.NO_CLIENT
    )
    address_key = "newsletter-address:" + keyed_hash(email)
    amount = settings.NEWSLETTER_CONFIRMATIONS_PER_ADDRESS_PER_DAY
    if limit_use(address_key, amount=amount, window=86400) is None:
        _queue_confirmation(subscriber)
    return subscriber


def confirm_token(subscriber: NewsletterSubscriber) -> str:
    return signed_links.make(
        CONFIRM_PURPOSE, {"id": str(subscriber.public_id), "email": subscriber.email}
    )


def _queue_confirmation(subscriber: NewsletterSubscriber) -> None:
    link = settings.SITE_URL + reverse(
        "privacy:newsletter_confirm", args=[confirm_token(subscriber)]
    )
    mail.queue(
        to=subscriber.email,
        template="newsletter-confirm",
        context={"name": subscriber.name, "link": link, "days": settings.NEWSLETTER_CONFIRM_DAYS},
        category=Category.ACCOUNT,
        secret_ttl=_confirm_age(),
    )


class LinkGone(Exception):
    """The link is genuine but its sign-up is no more (expired and deleted, or unsubscribed)."""


def _from_confirm_token(token: str, *, lock: bool = False) -> NewsletterSubscriber:
    """The subscriber a confirmation link names. Raises signed_links.LinkExpired / LinkInvalid,
    or LinkGone."""
    value = signed_links.read(CONFIRM_PURPOSE, token, max_age=_confirm_age())
    try:
        public_id, email = uuid.UUID(str(value["id"])), str(value["email"])
    except (TypeError, KeyError, ValueError):  # not what we sign: a token of ours always is
        raise signed_links.LinkInvalid from None
    rows = NewsletterSubscriber.objects.filter(public_id=public_id, email=email)
    subscriber = (rows.select_for_update() if lock else rows).first()
    if subscriber is None:
        raise LinkGone
    return subscriber


def subscriber_from_confirm_token(token: str) -> NewsletterSubscriber:
    return _from_confirm_token(token)


@transaction.atomic
def newsletter_confirm(*, token: str) -> bool:
    """Confirm the sign-up a confirmation link names: CONFIRMED, consent given now. Returns
    False when it was confirmed already (nothing changes). Raises as _from_confirm_token."""
    subscriber = _from_confirm_token(token, lock=True)
    if subscriber.status == Status.CONFIRMED:
        return False
    subscriber.status = Status.CONFIRMED
    subscriber.consented_at = timezone.now()
    subscriber.save(update_fields=["status", "consented_at"])
    audit.record(
        actor=None,
        action=Action.NEWSLETTER_CONFIRMED,
        target=subscriber,
        client=audit.NO_CLIENT,
        changes={"status": (Status.PENDING, Status.CONFIRMED)},
    )
    return True


@transaction.atomic
def newsletter_pending_expire(*, now=None) -> int:
    """Delete the sign-ups left unconfirmed for NEWSLETTER_CONFIRM_DAYS (beat, daily)."""
    cutoff = (now or timezone.now()) - _confirm_age()
    deleted, _ = NewsletterSubscriber.objects.filter(
        status=Status.PENDING, created_at__lt=cutoff
    ).delete()
    if deleted:
        audit.record(
            actor=None,
            action=Action.NEWSLETTER_PENDING_EXPIRED,
            client=audit.NO_CLIENT,
            counts={"subscribers": deleted},
        )
    return deleted


# --- unsubscribing ------------------------------------------------------------------------


def read_unsubscribe_token(token: str) -> str:
    """The address an unsubscribe link was made for. Raises LinkExpired / LinkInvalid."""
    value = signed_links.read(UNSUBSCRIBE_PURPOSE, token, max_age=_unsubscribe_age())
    if not isinstance(value, str):
        raise signed_links.LinkInvalid
    return value


@transaction.atomic
def newsletter_unsubscribe(*, token: str) -> None:
    """Delete the subscription of the address the link names, at once. An address that is not
    subscribed (any more) changes nothing, and the caller answers the same either way."""
    email = read_unsubscribe_token(token)
    subscriber = NewsletterSubscriber.objects.select_for_update().filter(email=email).first()
    if subscriber is None:
        return
    audit.record(
        actor=None,
        action=Action.NEWSLETTER_UNSUBSCRIBED,
        target=subscriber,
        client=audit.NO_CLIENT,
    )
    subscriber.delete()


# --- issues -------------------------------------------------------------------------------


def confirmed_subscribers() -> QuerySet[NewsletterSubscriber]:
    return NewsletterSubscriber.objects.filter(status=Status.CONFIRMED)


@dataclass(frozen=True)
class Rendered:
    subject: str
    body_text: str
    body_html: str


def render_issue(issue: NewsletterIssue, *, unsubscribe: str, test: bool = False) -> Rendered:
    """The issue's mail (`emails/newsletter-issue-*`), with `unsubscribe` where the link goes.
    The text part is the Markdown itself (it reads as plain text), the HTML part the
    sanitised rendering (opsx.markdown)."""
    context = {
        "site_url": settings.SITE_URL,
        "subject": issue.subject,
        "body_text": issue.body,
        "body_html": opsx_markdown.render(issue.body),
        "unsubscribe_url": unsubscribe,
        "test": test,
    }
    subject = " ".join(mail.render_text("emails/newsletter-issue-subject.txt", context).split())
    return Rendered(
        subject=subject,
        body_text=mail.render_text("emails/newsletter-issue-body.txt", context).strip(),
        body_html=render_to_string("emails/newsletter-issue-body.html", context).strip(),
    )


def _refuse_unless_draft(issue: NewsletterIssue) -> NewsletterIssue | None:
    stored = NewsletterIssue.objects.select_for_update().filter(pk=issue.pk).first()
    if stored is not None and stored.status != NewsletterIssue.Status.DRAFT:
        raise ValidationError(
            "This issue has been sent: it cannot be changed. Write a new issue instead."
        )
    return stored


@transaction.atomic
def issue_save(*, issue: NewsletterIssue, actor: User) -> NewsletterIssue:
    """Create or update a draft issue (admin's forms); a sent one is never changed."""
    if issue.pk:
        _refuse_unless_draft(issue)
    else:
        issue.created_by = actor
    issue.status = NewsletterIssue.Status.DRAFT
    issue.full_clean(exclude=["created_by", "batch"])
    issue.save()
    audit.record(
        actor=actor, action=Action.NEWSLETTER_ISSUE_SAVED, target=issue, client=audit.NO_CLIENT
    )
    return issue


@transaction.atomic
def issue_send_test(*, issue: NewsletterIssue, actor: User) -> OutboundMessage:
    """Mail the issue to `actor` (staff) alone, subject marked "[Test]". Sent as an account
    mail: staff need not subscribe to see their issue, and a newsletter mail to an address
    that is not subscribed would be refused at send time. The link in it is the actor's own
    unsubscribe link, so it shows where each recipient's goes."""
    return mail.queue(
        to=actor.email,
        template="newsletter-issue",
        context={
            "subject": issue.subject,
            "body_text": issue.body,
            "body_html": opsx_markdown.render(issue.body),
            "unsubscribe_url": unsubscribe_url(actor.email),
            "test": True,
        },
        category=Category.ACCOUNT,
    )


def send_issue(issue: NewsletterIssue, actor: User | None) -> NewsletterIssue:
    """Send `issue` to every confirmed subscriber, once.

    Two steps, each its own transaction, so a crash between them is resumed by calling this
    again: (1) under the issue's lock, a draft becomes SENDING with its MailBatch (the body
    rendered once); (2) the confirmed subscribers are recorded as the batch's recipients (one
    INSERT ... SELECT that skips addresses already recorded, so a re-run neither skips nor
    repeats anyone), their count kept on the issue, and the fan-out started (opsx.mail's
    batch tasks, at MAIL_BULK_RATE_PER_SECOND). Once recorded, a second call does nothing:
    the batch tasks and the outbox's periodic resend carry it to the end, and
    `issue_finish` marks it SENT when nothing is pending."""
    with transaction.atomic():
        issue = NewsletterIssue.objects.select_for_update().get(pk=issue.pk)
        if issue.status == NewsletterIssue.Status.SENT:
            return issue
        if issue.batch_id is None:
            rendered = render_issue(issue, unsubscribe=MailBatch.UNSUBSCRIBE_PLACEHOLDER)
            issue.batch = mail.create_batch(
                category=Category.NEWSLETTER,
                subject=rendered.subject,
                body_text=rendered.body_text,
                body_html=rendered.body_html,
            )
            issue.status = NewsletterIssue.Status.SENDING
            issue.send_started_at = timezone.now()
            issue.save(update_fields=["batch", "status", "send_started_at"])
            audit.record(
                actor=actor,
                action=Action.NEWSLETTER_ISSUE_SENT,
                target=issue,
                client=audit.NO_CLIENT,
                changes={"status": (NewsletterIssue.Status.DRAFT, NewsletterIssue.Status.SENDING)},
            )
    with transaction.atomic():
        issue = (
            NewsletterIssue.objects.select_for_update(of=("self",))
            .select_related("batch")
            .get(pk=issue.pk)
        )
        batch = issue.batch
        if batch is None or batch.recorded_at is not None:
            return issue  # recorded already: the fan-out is under way
        mail.batch_add_recipients(batch, confirmed_subscribers().values_list("email", flat=True))
        issue.recipients = batch.messages.count()
        issue.save(update_fields=["recipients"])
        mail.start_batch(batch)
    return issue


def issue_progress(issue: NewsletterIssue) -> dict | None:
    """{total, pending, sent, failed, suppressed} of the issue's batch (None before sending).
    An issue with nothing pending any more is marked SENT on the way (issue_finish)."""
    if issue.batch_id is None:
        return None
    progress = mail.batch_progress(issue.batch)
    if issue.status == NewsletterIssue.Status.SENDING and not progress["pending"]:
        issue_finish(issue)
    return progress


@transaction.atomic
def issue_finish(issue: NewsletterIssue) -> bool:
    """Mark a SENDING issue SENT once its batch is recorded and has nothing pending. True if
    it did."""
    issue = (
        NewsletterIssue.objects.select_for_update(of=("self",))
        .select_related("batch")
        .get(pk=issue.pk)
    )
    if issue.status != NewsletterIssue.Status.SENDING or issue.batch is None:
        return False
    if issue.batch.recorded_at is None:
        return False  # still recording (or cut short: send_issue resumes it)
    progress = mail.batch_progress(issue.batch)
    if progress["pending"]:
        return False
    issue.status = NewsletterIssue.Status.SENT
    issue.save(update_fields=["status"])
    audit.record(
        actor=None,
        action=Action.NEWSLETTER_ISSUE_FINISHED,
        target=issue,
        client=audit.NO_CLIENT,
        changes={"status": (NewsletterIssue.Status.SENDING, NewsletterIssue.Status.SENT)},
        counts={k: v for k, v in progress.items() if k != "pending"},
    )
    return True


def issues_finish() -> int:
    """Mark SENT every SENDING issue whose batch has ended (beat, every 5 minutes)."""
    ids = NewsletterIssue.objects.filter(status=NewsletterIssue.Status.SENDING).values_list(
        "pk", flat=True
    )
    return sum(issue_finish(NewsletterIssue(pk=pk)) for pk in list(ids))
