from django.db import migrations

from opsx.migration_ops import PostgresOnlySQL

# The list walks these in keyset order; with search_text included, a search ordered by name
# or by last update filters inside the index (an index-only scan) instead of visiting rows.
COVERING = {
    "prospect_name_idx": "(client_id, name_key, id) INCLUDE (search_text)",
    "prospect_updated_idx": "(client_id, updated_at, id) INCLUDE (search_text)",
}


class Migration(migrations.Migration):
    dependencies = [("prospects", "0002_postgres_search_indexes")]

    operations = [
        migrations.RemoveIndex(model_name="prospect", name="prospect_name_idx"),
        migrations.RemoveIndex(model_name="prospect", name="prospect_updated_idx"),
        *[
            PostgresOnlySQL(
                f"CREATE INDEX {name} ON prospects_prospect {columns}", f"DROP INDEX {name}"
            )
            for name, columns in COVERING.items()
        ],
    ]
