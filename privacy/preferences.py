"""A user's email preferences: service notices on or off, the newsletter on or off.

Legal notices and account/security mail ignore these choices. Service mail is checked at send
time (`service_mail_allowed`, registered with opsx.mail in PrivacyConfig.ready), so turning
service notices off stops mail already queued. Every service message carries the recipient's
own signed unsubscribe link (`service_unsubscribe_url`); a one-click POST to it turns service
notices off without a sign-in (privacy/views/unsubscribe.py).

The newsletter choice is the user's NewsletterSubscriber row (privacy.newsletter owns the rest
of the newsletter): switched on here it is confirmed at once, since a signed-in user's address
is already verified and they asked for it themselves; switched off, the row is deleted.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from clients import audit
from clients.models import AuditEvent
from opsx import signed_links

from .models import EmailPreference, NewsletterSubscriber

# The signed link's purpose (opsx.signed_links): a token for it opens no other link.
UNSUBSCRIBE_SERVICE = "unsubscribe-service"

# The words next to the newsletter switch; a subscription made from the page keeps them as
# the record of what the user agreed to.
NEWSLETTER_CONSENT_TEXT = (
    "Send me the OpsX newsletter (product news and tips, about once a month). I can switch "
    "it off here or with the link in every issue."
)


@dataclass(frozen=True)
class Preferences:
    service_notices: bool
    newsletter: bool


def unsubscribe_max_age() -> timedelta:
    return timedelta(days=settings.MAIL_UNSUBSCRIBE_MAX_AGE_DAYS)


# --- queries ------------------------------------------------------------------------------


def preferences_of(user: User) -> Preferences:
    """The user's current choices (no EmailPreference row: the defaults). Two queries."""
    service = (
        EmailPreference.objects.filter(user=user).values_list("service_notices", flat=True).first()
    )
    subscribed = NewsletterSubscriber.objects.filter(
        user=user, status=NewsletterSubscriber.Status.CONFIRMED
    ).exists()
    return Preferences(service_notices=service is not False, newsletter=subscribed)


def service_mail_allowed(to_email: str) -> bool:
    """opsx.mail's send-time check for SERVICE mail: False when the address belongs to a user
    who is deactivated or switched service notices off. An address of no user is left to the
    suppression list (deliver() checks it)."""
    user = (
        User.objects.filter(email=(to_email or "").strip().lower())
        .values("is_active", "email_preference__service_notices")
        .first()
    )
    if user is None:
        return True
    return user["is_active"] and user["email_preference__service_notices"] is not False


def service_unsubscribe_url(to_email: str) -> str:
    """The recipient's own one-click unsubscribe link for service mail (absolute). The token
    carries the user's public id, never the address; an address of no user gets a link that
    unsubscribes nobody (and says the same)."""
    public_id = (
        User.objects.filter(email=(to_email or "").strip().lower())
        .values_list("public_id", flat=True)
        .first()
    )
    token = signed_links.make(UNSUBSCRIBE_SERVICE, str(public_id) if public_id else "")
    return settings.SITE_URL + reverse("privacy:unsubscribe_service", args=[token])


def service_unsubscribe_user(token: str) -> User | None:
    """The user a service unsubscribe token names (None: nobody, or no longer). Raises
    signed_links.LinkExpired / LinkInvalid."""
    value = signed_links.read(UNSUBSCRIBE_SERVICE, token, max_age=unsubscribe_max_age())
    if not isinstance(value, str) or not value:
        return None
    try:
        return User.objects.filter(public_id=value).first()
    except ValidationError:  # not a UUID: signed by us, so only an old format; nobody
        return None


# --- services -----------------------------------------------------------------------------


def _set_service_notices(user: User, on: bool) -> bool:
    """Store the choice; returns the previous one."""
    preference, _ = EmailPreference.objects.select_for_update().get_or_create(user=user)
    before = preference.service_notices
    if before != on:
        preference.service_notices = on
        preference.save(update_fields=["service_notices", "updated_at"])
    return before


def newsletter_subscribe_user(*, user: User, consent_text: str = NEWSLETTER_CONSENT_TEXT):
    """Make `user`'s confirmed NewsletterSubscriber row (source PREFERENCES, consent now, with
    the wording they saw). No second opt-in: the address is the user's verified sign-in
    address. A row already there for their address (the public form's, pending or confirmed)
    becomes theirs. Call inside a transaction."""
    email = user.email.lower()
    row = (
        NewsletterSubscriber.objects.select_for_update().filter(user=user).first()
        or NewsletterSubscriber.objects.select_for_update().filter(email=email).first()
    )
    now = timezone.now()
    if row is None:
        return NewsletterSubscriber.objects.create(
            email=email,
            name=user.full_name[:150],
            user=user,
            status=NewsletterSubscriber.Status.CONFIRMED,
            source=NewsletterSubscriber.Source.PREFERENCES,
            consented_at=now,
            consent_text=consent_text,
        )
    if row.status == NewsletterSubscriber.Status.CONFIRMED and row.user_id == user.pk:
        return row  # already on: the consent on record stands
    row.email, row.user = email, user
    row.status = NewsletterSubscriber.Status.CONFIRMED
    row.source = NewsletterSubscriber.Source.PREFERENCES
    row.consented_at, row.consent_text = now, consent_text
    row.save(update_fields=["email", "user", "status", "source", "consented_at", "consent_text"])
    return row


def newsletter_unsubscribe_user(*, user: User) -> int:
    """Delete `user`'s subscription (and any row for their address). Returns rows deleted."""
    deleted, _ = NewsletterSubscriber.objects.filter(user=user).delete()
    more, _ = NewsletterSubscriber.objects.filter(email=user.email.lower()).delete()
    return deleted + more


@transaction.atomic
def email_preferences_save(
    *, user: User, service_notices: bool, newsletter: bool, actor: User
) -> Preferences:
    """Store `user`'s choices from the preferences page; one audit event naming what changed
    (nothing changed: no event)."""
    before = preferences_of(user)
    _set_service_notices(user, service_notices)
    if newsletter and not before.newsletter:
        newsletter_subscribe_user(user=user)
    elif not newsletter and before.newsletter:
        newsletter_unsubscribe_user(user=user)
    after = Preferences(service_notices=service_notices, newsletter=newsletter)
    changes = {
        name: (getattr(before, name), getattr(after, name))
        for name in ("service_notices", "newsletter")
        if getattr(before, name) != getattr(after, name)
    }
    if changes:
        audit.record(
            actor=actor,
            action=AuditEvent.Action.EMAIL_PREFERENCES_CHANGED,
            target=user,
            client=audit.NO_CLIENT,
            changes=changes,
        )
    return after


@transaction.atomic
def service_unsubscribe(*, user: User | None) -> bool:
    """The one-click unsubscribe of service mail: service notices off for `user`. Idempotent
    (a second POST, a scanner's retry: no change, no event). Returns True if it changed."""
    if user is None:
        return False
    if not _set_service_notices(user, False):
        return False
    audit.record(
        actor=user,
        action=AuditEvent.Action.EMAIL_PREFERENCES_CHANGED,
        target=user,
        client=audit.NO_CLIENT,
        changes={"service_notices": (True, False)},
    )
    return True
