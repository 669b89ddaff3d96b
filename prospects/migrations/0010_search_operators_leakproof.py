"""Search keeps its trigram and jsonb indexes under row-level security.

Under a policy PostgreSQL uses a query's condition as an index condition only when its
function is LEAKPROOF; LIKE (textlike: name, organisation, email and phone-digit search) and
jsonb @> (jsonb_contains: tag and custom-field filters) are not marked so, and on 1,000,000
prospects a phone search went from the trigram index (1 ms) to filtering every phone of the
client (570 ms). Neither function reveals anything about the row beyond its result (textlike
can only fail on its pattern, the query's constant), so they are marked LEAKPROOF.

Only a superuser may do this; another role gets a warning and a DBA runs the two statements
(README, Tenancy). The mark lives in this database's catalog: pg_dump does not carry it.
"""

from django.db import migrations

from opsx.migration_ops import PostgresOnlySQL

FUNCTIONS = ["pg_catalog.textlike(text, text)", "pg_catalog.jsonb_contains(jsonb, jsonb)"]


def _mark(leakproof: str) -> str:
    alters = " ".join(f"ALTER FUNCTION {f} {leakproof};" for f in FUNCTIONS)
    return (
        "DO $$ BEGIN"
        " IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN"
        f" {alters}"
        " ELSE RAISE WARNING 'Not a superuser: search under row-level security scans instead of"
        f" using its indexes until a superuser runs: {alters}';"
        " END IF; END $$;"
    )


class Migration(migrations.Migration):
    dependencies = [("prospects", "0009_tenant_row_level_security")]

    operations = [PostgresOnlySQL(sql=_mark("LEAKPROOF"), reverse_sql=_mark("NOT LEAKPROOF"))]
