"""One index for the list by name, filtered or not (issue 3's import target).

prospect_status_idx and prospect_owner_idx served the status and owner filters in name order.
prospect_name_idx now carries status and owner_id as well, so a filtered list walks it and
filters inside the index (an index-only scan): each inserted or updated prospect now writes
two index entries fewer, which was a quarter of the cost of inserting a prospect.
"""

from django.db import migrations

from opsx.migration_ops import PostgresOnlySQL

NAME_IDX = "CREATE INDEX prospect_name_idx ON prospects_prospect (client_id, name_key, id) INCLUDE ({})"


class Migration(migrations.Migration):
    dependencies = [("prospects", "0005_import_speed")]

    operations = [
        migrations.RemoveIndex(model_name="prospect", name="prospect_status_idx"),
        migrations.RemoveIndex(model_name="prospect", name="prospect_owner_idx"),
        PostgresOnlySQL(
            ["DROP INDEX prospect_name_idx", NAME_IDX.format("status, owner_id, search_text")],
            ["DROP INDEX prospect_name_idx", NAME_IDX.format("search_text")],
        ),
    ]
