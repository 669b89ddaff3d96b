"""Reads of the usage statistics: a client's days for its charts, and the benchmark against
clients of its size (quartiles only, never another client's row, no group smaller than 5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.safestring import SafeString

from . import charts
from .models import Client, UsageBenchmark, UsageDay
from .usage import AREAS, METRICS, MIN_GROUP, size_of

CHART_DAYS = 90
AREA_NAMES = {
    "prospects": "Prospects",
    "visits": "Visits",
    "files": "Files",
    "imports": "Imports",
    "admin_tasks": "Admin tasks",
    "api": "Mobile API",
    "other": "Other pages",
}


def usage_days(client: Client, *, days: int = CHART_DAYS, today: date | None = None):
    start = (today or date.today()) - timedelta(days=days - 1)
    return list(UsageDay.objects.for_client(client).filter(day__gte=start).order_by("day"))


def usage_charts(rows: list[UsageDay]) -> list[SafeString]:
    days = [r.day for r in rows]
    return [
        charts.line_chart(
            chart_id="users",
            title="Users and active users (signed in within 30 days)",
            days=days,
            series=[("Users", [r.users for r in rows]), ("Active", [r.active_users for r in rows])],
        ),
        charts.line_chart(
            chart_id="data",
            title="Prospects, visits and files",
            days=days,
            series=[
                ("Prospects", [r.prospects for r in rows]),
                ("Visits", [r.visits for r in rows]),
                ("Files", [r.files for r in rows]),
            ],
        ),
        charts.line_chart(
            chart_id="requests",
            title="Requests a day, by part of the product",
            days=days,
            series=[(AREA_NAMES[a], [getattr(r, f"requests_{a}") for r in rows]) for a in AREAS],
        ),
        charts.line_chart(
            chart_id="load",
            title="Server time a day (seconds)",
            days=days,
            series=[
                (
                    "Server time",
                    [
                        round(sum(getattr(r, f"server_us_{a}") for a in AREAS) / 1e6, 1)
                        for r in rows
                    ],
                )
            ],
        ),
    ]


@dataclass(frozen=True)
class BenchmarkLine:
    label: str
    value: float
    q1: float
    median: float
    q3: float


@dataclass(frozen=True)
class Benchmark:
    day: date | None
    size: str  # "6 to 20 users"
    group: int  # how many clients of that size, this one included; 0: too few to show
    lines: list[BenchmarkLine]

    @property
    def shown(self) -> bool:
        return bool(self.lines)


def usage_benchmark(client: Client) -> Benchmark:
    """The client's latest recorded day against the quartiles of the clients of its size that
    day (UsageBenchmark, which the daily job keeps only for groups of MIN_GROUP or more)."""
    own = UsageDay.objects.for_client(client).order_by("-day").first()
    if own is None:
        return Benchmark(day=None, size="", group=0, lines=[])
    low, high = size_of(max(own.users, 1))
    size = f"{low} to {high} users" if high else f"more than {low - 1} users"
    spreads = {b.metric: b for b in UsageBenchmark.objects.filter(day=own.day, size_low=low)}
    lines = [
        BenchmarkLine(label, read(own), round(b.q1, 1), round(b.median, 1), round(b.q3, 1))
        for metric, (label, read) in METRICS.items()
        if (b := spreads.get(metric)) is not None
    ]
    group = next(iter(spreads.values())).clients if spreads else 0
    return Benchmark(day=own.day, size=size, group=group, lines=lines)


def usage_context(client: Client, *, days: int = CHART_DAYS) -> dict:
    """What the usage pages show (staff's dashboard and the client admins' page): 3 queries."""
    rows = usage_days(client, days=days)
    return {
        "days": days,
        "charts": usage_charts(rows),
        "charts_have_data": bool(rows),
        "benchmark": usage_benchmark(client),
        "min_group": MIN_GROUP,
    }
