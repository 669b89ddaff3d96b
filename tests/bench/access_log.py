"""OpsX benchmark: what the access log costs a request. A script, not a test.

    .venv/bin/python tests/bench/access_log.py            # 20,000 requests a round, 7 rounds
    .venv/bin/python tests/bench/access_log.py -n 2000    # quick

A trivial view is called N times directly and N times through
opsx.access_log.AccessLogMiddleware (a visitor's request and a signed-in user's, resolved as
Django's handler leaves them, and one the log must resolve itself, as a 404), the line
rendered and written to /dev/null by the same StreamHandler setup as production's stdout (one
write a line). The best of the rounds of each is kept, and the difference per
request is printed in microseconds [target: well under 1,000 µs]. Needs no database.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
TARGET_US = 1000.0


class _SignedIn:
    """What the middleware reads of a user: by attribute, as for accounts.User."""

    is_authenticated = True
    pk = 42
    client_id = 7


def _round(call, request, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        call(request)
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="requests a round")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsx.settings")
    os.environ["ACCESS_LOG"] = "stdout"
    import django

    django.setup()
    from django.contrib.auth.models import AnonymousUser
    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.urls import resolve

    from opsx import access_log

    logger = logging.getLogger(access_log.LOGGER_NAME)
    devnull = open(os.devnull, "w")  # noqa: SIM115 (open for the whole run)
    sink = logging.StreamHandler(devnull)
    sink.setFormatter(logging.Formatter("%(message)s"))
    logger.handlers = [sink]

    def view(request):
        return HttpResponse("ok")

    logged = access_log.AccessLogMiddleware(view)
    factory = RequestFactory()
    cases = {}
    for name, user, resolved in (
        ("visitor", AnonymousUser(), True),
        ("signed in", _SignedIn(), True),
        # a 404, or a middleware's early answer: the log resolves the URL itself
        ("unresolved", _SignedIn(), False),
    ):
        request = factory.get(
            "/app/prospects/?q=someone&page=2",
            REMOTE_ADDR="198.51.100.7",
            headers={"X-Forwarded-For": "203.0.113.9", "Cookie": "sessionid=abc"},
        )
        request.user = user
        request.resolver_match = resolve(request.path_info) if resolved else None
        cases[name] = request

    print(f"Access log overhead, {args.n:,} requests a round, best of {args.rounds} rounds")
    worst = 0.0
    for name, request in cases.items():
        logged(request)  # warm: the lazy structlog proxy, the adapter import
        bare = min(_round(view, request, args.n) for _ in range(args.rounds))
        with_log = min(_round(logged, request, args.n) for _ in range(args.rounds))
        overhead = with_log - bare
        worst = max(worst, overhead)
        print(
            f"  {name:10} view alone {bare:7.1f} µs, with the access log {with_log:7.1f} µs: "
            f"+{overhead:.1f} µs a request"
        )
    verdict = "OK" if worst < TARGET_US else "OVER TARGET"
    print(f"Worst overhead {worst:.1f} µs a request (target < {TARGET_US:.0f} µs): {verdict}")


if __name__ == "__main__":
    main()
