"""Tenant isolation underneath the ORM: PostgreSQL row-level security (clients/tenancy.py).

A client user's request, its streamed downloads and the import task see and write one
client's rows even where the code forgets to filter; staff admin, sweeps and migrations are
the named exceptions (the connection role); a missing setting shows no rows.
"""

import pytest
from django import test as django_test
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clients import checks
from clients.tenancy import ROLE, SETTING, tenant_scope
from prospects import importing
from prospects.models import ImportJob, ImportRowError, Prospect
from tests.factories import ProspectFactory

PROBE = "tests.clients.rls_urls"


@pytest.fixture
def prospects(personas):
    """Two prospects of client A, three of client B."""
    a = [ProspectFactory(client=personas.client_a, phones=[f"+91987650000{i}"]) for i in range(2)]
    b = [ProspectFactory(client=personas.client_b, phones=[f"+91987651000{i}"]) for i in range(3)]
    return a, b


def _probe(client, other: Prospect) -> dict:
    response = client.get("/rls-probe/", {"other": other.pk})
    assert response.status_code == 200, response.content.decode()[:500]
    return response.json()


def _session_state() -> tuple:
    """The connection's role and client setting outside any transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_setting(%s, true)", [SETTING])
        return cursor.fetchone()


# --- (a) inside a client user's request ------------------------------------------------


@pytest.mark.urls(PROBE)
@pytest.mark.django_db
def test_an_unscoped_query_and_raw_sql_in_a_request_see_only_the_users_client(
    client, personas, prospects
):
    _, b = prospects
    client.force_login(personas.bob)
    seen = _probe(client, other=b[0])
    assert seen["orm_count"] == 2
    assert seen["orm_clients"] == seen["raw_clients"] == [personas.client_a.pk]


@pytest.mark.urls(PROBE)
@pytest.mark.django_db
def test_an_update_of_another_clients_row_in_a_request_changes_nothing(client, personas, prospects):
    a, b = prospects
    client.force_login(personas.bob)
    seen = _probe(client, other=b[0])
    assert seen["orm_updated"] == seen["raw_updated"] == 0
    b[0].refresh_from_db()  # read as the test's connection role: every row
    assert b[0].notes == ""
    # the user's own client's rows stay writable
    assert _probe(client, other=a[0])["orm_updated"] == 1


@pytest.mark.urls(PROBE)
@pytest.mark.django_db
def test_users_of_other_clients_and_staff_do_not_exist_inside_a_request(client, personas):
    from tests.factories import StaffFactory

    StaffFactory(email="sam@hexcm.example")
    client.force_login(personas.carol)
    assert _probe(client, other=Prospect(pk=0))["users"] == [
        "carol@bravo.example",
        "dan@bravo.example",
    ]


@pytest.mark.django_db
def test_sign_in_reads_the_user_before_any_client_is_known(client, personas):
    """accounts_user has row-level security too; sign-in runs as the connection role."""
    from tests.conftest import sign_in

    sign_in(client, personas.dan)
    assert client.get(reverse("dashboard")).status_code == 200


@pytest.mark.django_db
def test_test_code_after_a_request_is_not_left_restricted(client, personas, prospects):
    """The request is a savepoint of the test's transaction: its scope is reset on the way
    out, or everything after it would run as the first request's client."""
    client.force_login(personas.bob)
    assert client.get(reverse("prospects:list")).status_code == 200
    assert Prospect.objects.count() == 5
    assert _session_state() == ("postgres", "")


@pytest.mark.django_db
def test_a_missing_client_setting_shows_no_rows_and_accepts_no_write(personas, prospects):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {ROLE}")
        assert Prospect.objects.count() == 0
        cursor.execute(f"SELECT set_config('{SETTING}', '', true)")
        assert Prospect.objects.count() == 0
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            Prospect.objects.create(client=personas.client_a, name="Nobody's")


@pytest.mark.django_db
def test_tenant_scope_switches_role_and_client_and_restores_the_outer_scope(personas, prospects):
    with transaction.atomic():
        with tenant_scope(personas.client_a):
            assert Prospect.objects.count() == 2
            with tenant_scope(personas.client_b):
                assert Prospect.objects.count() == 3
            assert Prospect.objects.count() == 2
        assert Prospect.objects.count() == 5


@pytest.mark.django_db
def test_a_scope_that_ends_its_transaction_is_still_reset_inside_a_savepoint(personas, prospects):
    """ends_transaction skips the reset only in the outermost transaction: inside a savepoint
    (here the test's transaction holds the block) RELEASE would keep the setting."""
    with transaction.atomic():
        with tenant_scope(personas.client_a, ends_transaction=True):
            assert Prospect.objects.count() == 2
        assert Prospect.objects.count() == 5
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user, current_setting(%s, true)", [SETTING])
            assert cursor.fetchone() == ("postgres", "")


# --- (b) the catalog ------------------------------------------------------------------------

_TENANT_TABLES = """
    SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
           array_agg(pg_get_expr(p.polqual, p.polrelid)) FILTER (WHERE p.oid IS NOT NULL),
           array_agg(pg_get_expr(p.polwithcheck, p.polrelid)) FILTER (WHERE p.oid IS NOT NULL),
           bool_and(p.polcmd = '*' AND p.polpermissive)
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
    LEFT JOIN pg_policy p ON p.polrelid = c.oid
    WHERE c.relkind IN ('r', 'p') AND EXISTS (
        SELECT 1 FROM pg_attribute a
        WHERE a.attrelid = c.oid AND a.attname = 'client_id' AND NOT a.attisdropped
    )
    GROUP BY c.oid, c.relname ORDER BY c.relname
"""


@pytest.mark.django_db
def test_every_table_with_a_client_id_has_an_enabled_forced_policy_on_the_setting():
    with connection.cursor() as cursor:
        cursor.execute(_TENANT_TABLES)
        tables = cursor.fetchall()
    assert len(tables) >= 12  # prospects' ten, accounts' user and invitation
    unprotected = []
    for name, enabled, forced, quals, checks_, all_commands in tables:
        expected = (
            f"(client_id = (NULLIF(current_setting('{SETTING}'::text, true), ''::text))::bigint)"
        )
        # Every policy is the tenant one: another permissive policy would widen it.
        if not (enabled and forced and all_commands and quals and checks_) or any(
            q != expected for q in quals + checks_
        ):
            unprotected.append((name, enabled, forced, quals, checks_))
    assert unprotected == []


@pytest.mark.django_db
def test_every_model_with_a_client_key_is_a_protected_table():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relrowsecurity AND relforcerowsecurity"
            " AND relnamespace = current_schema()::regnamespace"
        )
        protected = {row[0] for row in cursor.fetchall()}
    tenant = checks.tenant_tables()
    assert {"prospects_prospect", "accounts_invitation", "accounts_user"} <= tenant
    assert tenant - protected == set()
    assert tenant - checks.tables_with_rls_migration() == set()
    assert "clients_client" in protected  # the tenant row itself, by its id


def test_the_system_check_names_a_tenant_table_without_row_level_security(monkeypatch):
    assert checks.tenant_rls() == []
    monkeypatch.setattr(
        checks, "tables_with_rls_migration", lambda: {"prospects_prospect", "accounts_user"}
    )
    errors = {e.msg: e.hint for e in checks.tenant_rls()}
    assert "prospects_visit has a client key but no row-level security." in errors
    assert (
        'EnableTenantRLS("prospects_visit")'
        in errors["prospects_visit has a client key but no row-level security."]
    )
    assert not any(msg.startswith("prospects_prospect ") for msg in errors)


@pytest.mark.urls(PROBE)
@pytest.mark.django_db
def test_a_request_runs_as_a_role_that_is_neither_superuser_nor_bypasses_rls(
    client, personas, prospects
):
    client.force_login(personas.alice)
    seen = _probe(client, other=prospects[1][0])
    assert (seen["role"], seen["superuser"], seen["bypassrls"]) == (ROLE, False, False)
    assert seen["setting"] == str(personas.client_a.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner"
            " WHERE r.rolname = %s AND c.relrowsecurity",
            [ROLE],
        )
        assert cursor.fetchone()[0] == 0  # an owner without FORCE would bypass its policies


# --- (c) one connection, many requests ----------------------------------------------------


@pytest.mark.urls(PROBE)
@pytest.mark.django_db(transaction=True)
def test_a_reused_connection_never_shows_the_first_clients_rows_to_the_second(personas, prospects):
    """Real transactions (no test transaction around them): each request commits, and the
    same connection (CONN_MAX_AGE) serves the next client's request."""
    a, b = prospects
    alice, carol = django_test.Client(), django_test.Client(raise_request_exception=False)
    alice.force_login(personas.alice)
    carol.force_login(personas.carol)

    first = _probe(alice, other=b[0])
    assert _session_state() == ("postgres", "")
    second = _probe(carol, other=a[0])
    assert second["backend"] == first["backend"]  # the same connection, reused
    assert first["raw_clients"] == [personas.client_a.pk]
    assert second["raw_clients"] == [personas.client_b.pk]
    assert second["orm_count"] == 3
    assert second["orm_updated"] == 0

    # A request that fails half-way leaves nothing behind either.
    assert carol.get("/rls-boom/").status_code == 500
    assert _session_state() == ("postgres", "")
    third = _probe(alice, other=b[1])
    assert third["backend"] == first["backend"]
    assert third["raw_clients"] == [personas.client_a.pk]
    assert _session_state() == ("postgres", "")
    assert not connection.in_atomic_block


@pytest.mark.django_db(transaction=True)
def test_a_requests_scope_ends_with_its_commit_without_a_reset_statement(personas, prospects):
    """In the request's own transaction the scope is set once and ended by COMMIT (SET LOCAL
    lasts until the transaction ends): no reset round trip, and nothing left behind for the
    next request on the same connection."""
    alice = django_test.Client()
    alice.force_login(personas.alice)
    with CaptureQueriesContext(connection) as queries:
        assert alice.get(reverse("prospects:list")).status_code == 200
    statements = [q["sql"] for q in queries.captured_queries]
    scope = [sql for sql in statements if "set_config" in sql]
    assert len(scope) == 1 and f"'{ROLE}'" in scope[0]
    assert statements[-1] == "COMMIT"
    assert _session_state() == ("postgres", "")
    assert Prospect.objects.count() == 5  # the connection role again: every client's rows


@pytest.mark.django_db(transaction=True)
def test_a_streamed_export_reads_one_client_and_leaves_the_connection_unrestricted(
    personas, prospects
):
    """The CSV is read after the view returned, outside the request's transaction."""
    bob = django_test.Client()
    bob.force_login(personas.bob)
    response = bob.get(reverse("prospects:export"))
    assert response.streaming
    stream = iter(response.streaming_content)
    next(stream)  # the header row: no query yet
    lines = b"".join(stream).decode().splitlines()
    assert len(lines) == 2
    assert _session_state() == ("postgres", "")
    assert not connection.in_atomic_block


@pytest.mark.django_db(transaction=True)
def test_an_abandoned_error_report_download_ends_its_transaction(personas):
    job = ImportJob.objects.create(
        client=personas.client_a, created_by=personas.bob, original_name="x.csv"
    )
    for n in (2, 3):
        ImportRowError.objects.create(client=personas.client_a, job=job, row_number=n, reason="bad")
    rows = importing.error_report_rows(job)
    assert next(rows) == ["row", "level", "column", "value", "reason"]
    assert next(rows) == [2, "refused", "", "", "bad"]
    assert connection.in_atomic_block  # the stream's own transaction, restricted
    rows.close()  # the client went away
    assert not connection.in_atomic_block
    assert _session_state() == ("postgres", "")


# --- the exceptions, and tasks working for one client --------------------------------------


@pytest.mark.django_db
def test_staff_in_django_admin_see_every_clients_imports(client, personas):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from tests.factories import StaffFactory

    for persona, name in ((personas.bob, "acme-people.csv"), (personas.dan, "bravo-people.csv")):
        ImportJob.objects.create(client=persona.client, created_by=persona, original_name=name)
    staff = StaffFactory(email="sam@hexcm.example")
    TOTP.activate(staff, generate_totp_secret())
    client.force_login(staff)
    page = client.get(reverse("admin:prospects_importjob_changelist")).content.decode()
    assert "Acme" in page and "Bravo" in page


def _import(client, content: str, capture):
    upload = SimpleUploadedFile("people.csv", content.encode(), content_type="text/csv")
    response = client.post(reverse("prospects:import_new"), {"file": upload})
    assert response.status_code == 302, response.content.decode()[:1000]
    job = ImportJob.objects.latest("created_at")
    form = {"on_duplicate": "update"}
    for i, header in enumerate(job.headers):
        form[f"col_{i}"] = job.mapping.get(header, "")
    with capture(execute=True):
        client.post(reverse("prospects:import_map", args=[job.public_id]), form)
    job.refresh_from_db()
    return job


CSV = "Name,Email,Phone\nRavi Kumar,ravi@example.com,+919876543210\nMeera Iyer,meera@example.com,\n"


@pytest.mark.django_db
def test_the_import_task_writes_under_its_jobs_client(
    client, personas, django_capture_on_commit_callbacks, monkeypatch
):
    seen = []
    write = importing.ProspectWriter.write

    def spying_write(self, plan):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user, current_setting(%s, true)", [SETTING])
            seen.append(cursor.fetchone())
        return write(self, plan)

    monkeypatch.setattr(importing.ProspectWriter, "write", spying_write)
    client.force_login(personas.bob)
    job = _import(client, CSV, django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.DONE, job.failure_reason
    assert seen and set(seen) == {(ROLE, str(personas.client_a.pk))}
    assert sorted(
        Prospect.objects.filter(client=personas.client_a).values_list("name", flat=True)
    ) == [
        "Meera Iyer",
        "Ravi Kumar",
    ]


@pytest.mark.django_db
def test_an_import_that_plans_rows_for_another_client_writes_none_of_them(
    client, personas, django_capture_on_commit_callbacks, monkeypatch
):
    """The writer sends COPY text with the client id threaded by hand; a planner bug giving
    client B's id is stopped by the policy's WITH CHECK, not written into B's data."""
    plan = importing.ImportPlanner.plan

    def misdirected(self, checked, found):
        self.client_id = personas.client_b.pk
        return plan(self, checked, found)

    monkeypatch.setattr(importing.ImportPlanner, "plan", misdirected)
    client.force_login(personas.bob)
    job = _import(client, CSV, django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.FAILED
    assert not Prospect.objects.filter(client=personas.client_b).exists()
    assert not Prospect.objects.filter(name="Ravi Kumar").exists()


@pytest.mark.django_db
def test_search_operators_are_leakproof_so_their_indexes_serve_under_row_level_security():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proname, proleakproof FROM pg_proc"
            " WHERE oid IN ('textlike(text, text)'::regprocedure,"
            " 'jsonb_contains(jsonb, jsonb)'::regprocedure) ORDER BY proname"
        )
        assert cursor.fetchall() == [("jsonb_contains", True), ("textlike", True)]
