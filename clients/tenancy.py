"""Tenant isolation underneath the ORM: PostgreSQL row-level security, set per transaction.

Every table of Client Data (a direct `client_id`) has a forced policy, added by migrations
with `opsx.migration_ops.EnableTenantRLS`: a row is visible and writable only when its
`client_id` equals the transaction's `opsx.client_id` setting. Missing setting: no rows.

Who is restricted, and who is a named exception:

- A client user's request (`clients.decorators.client_member_required`), the streamed downloads
  it starts and a Celery task working for one client (the import) run inside
  `tenant_scope(client)`: `SET LOCAL ROLE opsx_tenant` (NOLOGIN, NOBYPASSRLS, not the tables'
  owner, so the policies apply even when the connection role is a superuser, as in dev and
  tests) and `SET LOCAL opsx.client_id`. Both end with the transaction, so a pooled or
  persistent connection never carries one client's scope into the next request.
- Everything else runs as the connection role, which bypasses row-level security (a superuser
  here; in production a non-superuser owner WITH BYPASSRLS): HexCM staff in Django admin,
  sign-in and allauth's account pages (accounts tables only, read by the signed-in user),
  beat sweeps, the watchdog, management commands and migrations.

This is a guard against forgotten filters, not against SQL injection: code that can send
arbitrary SQL can also `RESET ROLE`.
"""

from contextlib import contextmanager

from django.db import connection, transaction

from opsx.migration_ops import TENANT_ROLE as ROLE
from opsx.migration_ops import TENANT_SETTING as SETTING


def _client_id(client) -> int:
    client_id = getattr(client, "pk", client)
    if not isinstance(client_id, int) or isinstance(client_id, bool):
        raise ValueError(f"tenant_scope() needs a client or its id, not {client!r}")
    return client_id


def _apply(client_id: int | None) -> None:
    # One round trip; set_config(..., true) is SET LOCAL. 'none' is RESET ROLE for this
    # transaction: back to the connection role.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('role', %s, true), set_config(%s, %s, true)",
            [ROLE if client_id is not None else "none", SETTING, str(client_id or "")],
        )


def _broken() -> bool:
    """The transaction cannot run a statement: the rollback to come undoes SET LOCAL anyway."""
    if connection.needs_rollback or connection.connection is None:
        return True
    from psycopg.pq import TransactionStatus

    return connection.connection.info.transaction_status == TransactionStatus.INERROR


@contextmanager
def tenant_scope(client, *, ends_transaction: bool = False):
    """Run the block restricted to one client's rows (PostgreSQL row-level security).

    Joins the current transaction, or opens one for the block (a SET LOCAL outside a
    transaction would last one statement). On leaving, the previous scope is put back inside
    the transaction: when the block is a savepoint of a longer transaction (a request inside
    a test, a service inside a request), RELEASE SAVEPOINT would otherwise keep the setting
    for the rest of it. On the embedded SQLite default there is no row-level security and
    this does nothing.

    `ends_transaction`: the caller's transaction ends right after the block, nothing else
    runs in it (a view under ATOMIC_REQUESTS: Django commits as the view returns). When the
    block is then directly in the outermost transaction, not a savepoint of a longer one, the
    COMMIT or ROLLBACK ends the SET LOCAL and the reset's round trip is skipped.
    """
    client_id = _client_id(client)
    if connection.vendor != "postgresql":
        yield
        return
    if not connection.in_atomic_block:
        # Our own transaction: COMMIT or ROLLBACK ends the scope, no reset needed.
        with transaction.atomic():
            _apply(client_id)
            _stack().append(client_id)
            try:
                yield
            finally:
                _stack().pop()
        return
    stack = _stack()
    previous = stack[-1] if stack else None
    _apply(client_id)
    stack.append(client_id)
    try:
        yield
    finally:
        stack.pop()
        # When the block's error aborted the transaction, its rollback (to a savepoint taken
        # before this scope, or of the whole transaction) undoes the scope instead.
        # connection.savepoint_ids is empty only in the outermost atomic block.
        ending_here = ends_transaction and not connection.savepoint_ids
        if not ending_here and not _broken():
            _apply(previous)


def current_client_id() -> int | None:
    """The client the current code runs restricted to, or None (unrestricted)."""
    stack = _stack()
    return stack[-1] if stack else None


def _stack() -> list[int]:
    # On the connection object: Django gives each thread its own, as PostgreSQL gives each
    # connection its own settings.
    if not hasattr(connection, "_opsx_tenant_stack"):
        connection._opsx_tenant_stack = []
    return connection._opsx_tenant_stack


def scoped_iterator(client, iterable):
    """Iterate `iterable` inside tenant_scope(client), for a response streamed after its view
    returned (outside the request's transaction). One transaction for the whole stream (a
    server-side cursor, as `.iterator()` uses, lives in one); it ends when the stream is
    consumed or closed, so the scope never outlives the response."""
    with tenant_scope(client):
        yield from iterable
