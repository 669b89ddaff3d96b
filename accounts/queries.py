from datetime import timedelta

from django.conf import settings
from django.db.models import DateTimeField, ExpressionWrapper, F, QuerySet
from django.shortcuts import get_object_or_404

from clients.models import Client

from .models import Invitation, ProfileRevision, User


def access_user(client: Client, public_id) -> User:
    """A user of `client` by public id, or 404 (also for another client's user)."""
    return get_object_or_404(
        User.objects.for_client(client).select_related("client"), public_id=public_id
    )


def access_invitation(client: Client, public_id) -> Invitation:
    return get_object_or_404(Invitation.objects.for_client(client), public_id=public_id)


# clients.cache's name for active_users(); the services that change what it returns forget it
ACTIVE_USERS = "active_users"


def active_users(client: Client) -> list[User]:
    """The client's active users as owner pickers print them: public id, and str(user) (the
    name, else the email), in the model's order (by name). Cached by the prospect list."""
    return list(User.objects.for_client(client).active().only("public_id", "full_name", "email"))


def client_user_list(client: Client) -> QuerySet[User]:
    """The client's users, active first. `erasure_on`: when a deactivated user's personal data
    is erased (the privacy app's retention runs on the same setting), None for active ones."""
    retention = timedelta(days=settings.DEACTIVATED_USER_RETENTION_DAYS)
    return (
        User.objects.for_client(client)
        .annotate(
            erasure_on=ExpressionWrapper(
                F("deactivated_at") + retention, output_field=DateTimeField()
            )
        )
        .order_by("-is_active", "full_name", "email")
    )


def client_pending_invitations(client: Client) -> QuerySet[Invitation]:
    return (
        Invitation.objects.for_client(client)
        .filter(status=Invitation.Status.PENDING)
        .select_related("invited_by")
        .order_by("-sent_at")
    )


def user_revisions(user: User) -> QuerySet[ProfileRevision]:
    return ProfileRevision.objects.filter(user=user).select_related("changed_by")
