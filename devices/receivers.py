"""Signals from below (accounts, allauth) that change devices: each calls a service."""

from allauth.account.signals import password_changed, password_reset, password_set
from allauth.usersessions.models import UserSession
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete
from django.dispatch import receiver

from accounts.signals import user_deactivated
from prospects.signals import prospect_erased, prospects_assigned, visit_changed

from . import notify, services
from .models import Device


@receiver(user_deactivated)
def _revoke_on_deactivation(sender, target, acting_user, **kwargs):
    services.devices_revoke_for_user(
        user=target, actor=acting_user, reason=Device.RevokeReason.DEACTIVATED
    )


@receiver(user_logged_out)
def _signed_out(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    if key:
        services.devices_session_ended(session_keys=[key])


@receiver(post_delete, sender=UserSession)
def _user_session_deleted(sender, instance, **kwargs):
    # allauth deletes the row when a session is ended from the account's sessions page (or by
    # accounts.services.sessions_end, or purged once dead), without a signal of its own: the
    # device signed in with it holds no session any more.
    services.devices_forget_dead_session(session_key=instance.session_key)


def _app_session_token(request) -> str:
    """The X-Session-Token a headless app request was made with, else ''."""
    headless = getattr(getattr(request, "allauth", None), "headless", None)
    if getattr(headless, "client", None) != "app":
        return ""
    return request.headers.get("X-Session-Token", "")


@receiver(password_changed)
@receiver(password_set)
@receiver(password_reset)
def _password_changed(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    keep = getattr(session, "session_key", None) or ""
    services.devices_end_sessions_for_password_change(
        user=user, keep_session_key=keep, previous_session_key=_app_session_token(request)
    )


# --- push notifications for prospects and visits (prospects/signals.py) --------------------
# Sent inside the prospects service's transaction; notify queues the push on commit, and
# nothing that goes wrong there is raised into the service.


@receiver(prospects_assigned)
def _push_prospects_assigned(sender, prospects, owner, actor, **kwargs):
    notify.quietly(
        "the new owner of prospects",
        notify.prospects_assigned,
        prospects=prospects,
        owner=owner,
        actor=actor,
    )


@receiver(visit_changed)
def _push_visit_changed(sender, visit, actor, change, **kwargs):
    notify.quietly(
        "the user of a visit", notify.visit_changed, visit=visit, actor=actor, change=change
    )


@receiver(prospect_erased)
def _forget_stored_answers(sender, prospect, visit_ids, **kwargs):
    services.idempotency_forget(
        client_id=prospect.client_id, public_ids=[prospect.public_id, *visit_ids]
    )
