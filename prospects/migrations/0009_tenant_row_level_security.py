"""Row-level security on every table of Client Data (clients/tenancy.py)."""

from django.db import migrations

from opsx.migration_ops import EnableTenantRLS

TABLES = [
    "prospects_prospect",
    "prospects_prospectphone",
    "prospects_customfield",
    "prospects_checklist",
    "prospects_visit",
    "prospects_folder",
    "prospects_storedfile",
    "prospects_prospectevent",
    "prospects_importjob",
    "prospects_importrowerror",
]


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0003_tenant_row_level_security"),
        ("prospects", "0008_event_client_key_unindexed"),
    ]

    operations = [EnableTenantRLS(table) for table in TABLES]
