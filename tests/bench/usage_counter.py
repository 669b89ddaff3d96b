"""OpsX benchmark: what counting a request for the usage statistics costs. A script, not a test.

    .venv/bin/python tests/bench/usage_counter.py              # 20,000 requests a round, 5 rounds
    .venv/bin/python tests/bench/usage_counter.py -n 2000      # quick

A trivial view is called N times directly and N times through clients.middleware.UsageMiddleware
as a signed-in client user's request, counting into the Redis of REDIS_URL (default
redis://127.0.0.1:6379/13; its usage keys are deleted before and after). The best round of each
is kept and the difference per request printed in microseconds [target: well under 1,000 µs].
Then the counts are checked: every counted request is in Redis. Needs no database.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
TARGET_US = 1000.0


class _Client:
    pk = 7


class _Request:
    path_info = "/app/prospects/"
    client = _Client()


def _round(call, request, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        call(request)
    return (time.perf_counter() - started) / n * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="requests a round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsx.settings")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
    os.environ.setdefault("USAGE_REDIS_URL", os.environ["REDIS_URL"])
    import django

    django.setup()
    from clients import usage
    from clients.middleware import UsageMiddleware

    source = usage.counter()
    clear = lambda: [source._redis.delete(k) for k in source._redis.scan_iter("opsx:usage:*")]  # noqa: E731
    clear()

    def view(request):
        return None

    counted = UsageMiddleware(view)
    bare = min(_round(view, _Request(), args.n) for _ in range(args.rounds))
    with_count = min(_round(counted, _Request(), args.n) for _ in range(args.rounds))
    fields = {}
    for key in source._redis.scan_iter("opsx:usage:*"):
        fields.update({k.decode(): int(v) for k, v in source._redis.hgetall(key).items()})
    clear()
    expected = args.n * args.rounds
    cost = with_count - bare
    print(f"requests a round: {args.n}, rounds: {args.rounds}")
    print(f"bare view: {bare:.1f} µs; counted: {with_count:.1f} µs")
    print(f"counting costs {cost:.1f} µs a request [target: < {TARGET_US:.0f} µs]")
    print(f"counted in Redis: {fields.get('7:prospects:n', 0)} of {expected}")
    return 0 if cost < TARGET_US and fields.get("7:prospects:n") == expected else 1


if __name__ == "__main__":
    sys.exit(main())
