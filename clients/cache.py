"""Per-client caches of small reads that every list page prints (the owner filter's users, the
custom-field definitions): one round trip to the cache (Redis) for all of them instead of one
SQL statement each, on the page users open most.

Who changes what a cached read returns calls `forget(client, name)` in the same transaction
(the services do: accounts' for users, prospects' for custom fields). The key is deleted once
that transaction commits: deleted earlier, a request still reading the old rows could put them
back, and a rolled-back change must not empty anything. `TTL` bounds what a read that raced
with a commit (read before it, stored after the delete) can leave behind, and catches a write
that bypassed the services (a shell, a data migration).

Values are pickled by the cache backend: keep them to plain values or model instances of
a few loaded fields.
"""

from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import transaction

TTL = 60  # seconds

Builder = Callable[[], Any]


def _key(client, name: str) -> str:
    return f"client:{getattr(client, 'pk', client)}:{name}"


def read(client, builders: dict[str, Builder]) -> dict[str, Any]:
    """{name: value} for the client, each from the cache or, when missing, from its builder
    (then stored). One cache round trip to read them all, one more to store what was missing."""
    keys = {name: _key(client, name) for name in builders}
    found = cache.get_many(list(keys.values()))
    values, missing = {}, {}
    for name, key in keys.items():
        if key in found:
            values[name] = found[key]
        else:
            values[name] = missing[key] = builders[name]()
    if missing:
        cache.set_many(missing, TTL)
    return values


def forget(client, *names: str) -> None:
    """Drop the client's cached `names` when the current transaction commits (at once outside
    one)."""
    keys = [_key(client, name) for name in names]
    transaction.on_commit(lambda: cache.delete_many(keys))
