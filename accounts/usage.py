"""The daily usage figures this app owns (clients.usage): users, active users, mail sent."""

from datetime import UTC, date, datetime, time, timedelta

from django.db import connection
from django.db.models import Count

from clients.usage import register_measure
from opsx.models import OutboundMessage

from .models import User

ACTIVE_DAYS = 30  # "active": signed in during the last 30 days


def _day_range(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def _per_client(queryset) -> dict[int, int]:
    return dict(queryset.values("client_id").annotate(n=Count("pk")).values_list("client_id", "n"))


def users(day: date) -> dict[int, int]:
    return _per_client(User.objects.filter(client__isnull=False, is_active=True))


def active_users(day: date) -> dict[int, int]:
    _, end = _day_range(day)
    return _per_client(
        User.objects.filter(
            client__isnull=False,
            is_active=True,
            last_login__gte=end - timedelta(days=ACTIVE_DAYS),
            last_login__lt=end,
        )
    )


def mail_sent(day: date) -> dict[int, int]:
    """Messages sent that day to the client's users (by address: the outbox holds no client)."""
    start, end = _day_range(day)
    mail, user = OutboundMessage._meta.db_table, User._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT u.client_id, count(*) FROM {mail} m JOIN {user} u ON u.email = m.to_email"  # noqa: S608 (table names)
            " WHERE m.status = %s AND m.sent_at >= %s AND m.sent_at < %s"
            " AND u.client_id IS NOT NULL GROUP BY u.client_id",
            [OutboundMessage.Status.SENT, start, end],
        )
        return dict(cursor.fetchall())


register_measure("users", users)
register_measure("active_users", active_users)
register_measure("mail_sent", mail_sent)
