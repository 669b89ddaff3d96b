"""Health check for the mail pipeline: exits non-zero when no Celery worker answers or when mail
waits longer than it should (the symptom that matters: a dead worker or beat sends nothing)."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from opsx.celery import app
from opsx.models import OutboundMessage


class Command(BaseCommand):
    help = (
        "Fail (exit 1) when no Celery worker answers a ping through the broker, or when the "
        "oldest pending email is overdue by more than --max-overdue minutes. With --node, only "
        "that worker counts (a container checking its own worker). Used by docker-compose and "
        "systemd health checks."
    )

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for pongs")
        parser.add_argument(
            "--node", default=None, help="worker node name to ping, e.g. celery@$HOSTNAME"
        )
        parser.add_argument(
            "--max-overdue",
            type=float,
            default=settings.MAIL_MAX_OVERDUE_MINUTES,
            help="minutes a due email may wait before the check fails",
        )

    def handle(self, *args, timeout, node, max_overdue, **options):
        problems = []
        if app.conf.broker_url.startswith("memory"):
            workers = ["in-process (no broker configured)"]
        else:
            workers = self._ping(timeout=timeout, node=node)
            if not workers:
                problems.append(
                    f"no Celery worker answered within {timeout:g}s"
                    + (f" (asked {node})" if node else "")
                    + ": start one with `celery -A opsx worker` and check the broker (REDIS_URL)"
                )
        oldest = (
            OutboundMessage.objects.filter(status=OutboundMessage.Status.PENDING)
            .order_by("next_attempt_at")
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        if oldest is not None:
            overdue = timezone.now() - oldest
            if overdue > timedelta(minutes=max_overdue):
                problems.append(
                    f"the oldest pending email is {overdue.total_seconds() / 60:.0f} minutes "
                    f"overdue (limit {max_overdue:g}): is `celery -A opsx beat` running, and "
                    "can the worker reach SMTP?"
                )
        if problems:
            raise CommandError("; ".join(problems))
        self.stdout.write(f"ok: workers {', '.join(workers)}")

    def _ping(self, *, timeout: float, node: str | None) -> list[str]:
        try:
            replies = app.control.ping(destination=[node] if node else None, timeout=timeout)
        except Exception as exc:  # the broker itself is unreachable
            raise CommandError(f"cannot reach the broker: {type(exc).__name__}: {exc}") from exc
        return sorted(name for reply in replies for name in reply)
