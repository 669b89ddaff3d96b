"""Changes of state of a client account (the tenant) itself."""

from allauth.usersessions.adapter import get_adapter as get_sessions_adapter
from allauth.usersessions.models import UserSession
from django.db import transaction

from . import audit
from .models import Client


def _end_client_sessions(client: Client) -> int:
    """Sign every user of the client out everywhere: allauth keeps a row per session (the way
    accounts.services.user_end_sessions does it for one user; clients cannot import accounts)."""
    sessions = list(UserSession.objects.filter(user__client=client))
    get_sessions_adapter().end_sessions(sessions)
    return len(sessions)


@transaction.atomic
def client_suspend(*, client: Client, acting_user) -> Client:
    """Suspend a client account: its users can no longer sign in, and every session they have
    open ends now (a page opened later in such a session is refused too, by ClientMiddleware).
    Their data is kept. Idempotent: suspending a suspended client changes nothing."""
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.status != Client.Status.SUSPENDED:
        client.status = Client.Status.SUSPENDED
        client.save(update_fields=["status"])
    # Sessions are ended even when it was suspended already: one opened in between (the status
    # changed by hand, say) does not outlive a second "Suspend".
    ended = _end_client_sessions(client)
    audit.record(
        actor=acting_user,
        action=audit.Action.CLIENT_SUSPENDED,
        target=client,
        client=client,
        changes={"status": (Client.Status.ACTIVE, Client.Status.SUSPENDED)},
        counts={"sessions": ended},
    )
    return client


@transaction.atomic
def client_reactivate(*, client: Client, acting_user) -> Client:
    """Lift a suspension: the client's users can sign in again (no session is restored)."""
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.status != Client.Status.ACTIVE:
        client.status = Client.Status.ACTIVE
        client.save(update_fields=["status"])
        audit.record(
            actor=acting_user,
            action=audit.Action.CLIENT_REACTIVATED,
            target=client,
            client=client,
            changes={"status": (Client.Status.SUSPENDED, Client.Status.ACTIVE)},
        )
    return client
