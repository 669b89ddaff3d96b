"""The daily usage figures this app owns (clients.usage): prospects, visits, files, imports."""

from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, F, Sum

from clients.usage import register_measure

from .models import ImportJob, Prospect, StoredFile, Visit


def _per_client(queryset) -> dict[int, int]:
    return dict(queryset.values("client_id").annotate(n=Count("pk")).values_list("client_id", "n"))


def _finished_imports(day: date):
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return ImportJob.objects.filter(
        status=ImportJob.Status.DONE,
        finished_at__gte=start,
        finished_at__lt=start + timedelta(days=1),
    )


def rows_imported(day: date) -> dict[int, int]:
    rows = (
        _finished_imports(day)
        .values("client_id")
        .annotate(n=Sum(F("created_count") + F("updated_count") + F("merged_count")))
    )
    return {row["client_id"]: row["n"] or 0 for row in rows}


register_measure("prospects", lambda day: _per_client(Prospect.objects.all()))
register_measure("visits", lambda day: _per_client(Visit.objects.all()))
register_measure("files", lambda day: _per_client(StoredFile.objects.all()))
register_measure("imports", lambda day: _per_client(_finished_imports(day)))
register_measure("rows_imported", rows_imported)
