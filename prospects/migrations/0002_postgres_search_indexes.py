from django.contrib.postgres.operations import BtreeGinExtension, TrigramExtension
from django.db import migrations

from opsx.migration_ops import PostgresOnlySQL

INDEXES = {
    # any part of name, organisation or email: LIKE '%q%' inside one client
    "prospect_search_trgm": "prospects_prospect USING gin (client_id, search_text gin_trgm_ops)",
    # name and email prefixes, whatever the database collation
    "prospect_name_prefix": "prospects_prospect (client_id, name_key varchar_pattern_ops)",
    "prospect_email_prefix": "prospects_prospect (client_id, email varchar_pattern_ops)",
    # tag and custom-field filters: tags @> '["vip"]', custom @> '{"region": "north"}'
    "prospect_tags_gin": "prospects_prospect USING gin (client_id, tags jsonb_path_ops)",
    "prospect_custom_gin": "prospects_prospect USING gin (client_id, custom jsonb_path_ops)",
    # any part of a phone number
    "phone_digits_trgm": "prospects_prospectphone USING gin (client_id, digits gin_trgm_ops)",
}


class Migration(migrations.Migration):
    dependencies = [("prospects", "0001_initial")]

    operations = [
        TrigramExtension(),
        BtreeGinExtension(),
        *[
            PostgresOnlySQL(f"CREATE INDEX {name} ON {spec}", f"DROP INDEX {name}")
            for name, spec in INDEXES.items()
        ],
    ]
