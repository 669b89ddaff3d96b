"""Cheaper writes for large imports (issue 3's import target).

- search_text holds the name and organisation only; emails are searched by their start through
  prospect_email_prefix, so the trigram index holds about half as many trigrams per row;
- name prefixes (queries shorter than a trigram) are served by prospect_name_idx, which includes
  search_text, so the separate prefix index goes;
- keys that lead another index already lose their own index;
- public ids become time-ordered (UUIDv7) for new prospects;
- provenance keys (created_by, updated_by, import_job) and a phone's client lose their
  database check, which cost one per inserted row at commit (Django still applies on_delete).
"""

import django.db.models.deletion
import uuid_utils.compat
from django.conf import settings
from django.db import migrations, models

from opsx.migration_ops import PostgresOnlySQL


def _search_text(name_key: str, organisation: str) -> str:
    organisation = organisation.lower()  # as Prospect.refresh_derived() at this migration
    return f"{name_key} {organisation}" if organisation else name_key


def recompute_search_text(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":  # one statement, not a million
        schema_editor.execute(
            "UPDATE prospects_prospect SET search_text = CASE WHEN organisation = '' "
            "THEN name_key ELSE name_key || ' ' || lower(organisation) END"
        )
        return
    Prospect = apps.get_model("prospects", "Prospect")
    batch = []
    rows = Prospect.objects.only("id", "name_key", "organisation", "search_text")
    for prospect in rows.order_by("id").iterator(chunk_size=5000):
        text = _search_text(prospect.name_key, prospect.organisation)
        if text != prospect.search_text:
            prospect.search_text = text
            batch.append(prospect)
        if len(batch) >= 5000:
            Prospect.objects.bulk_update(batch, ["search_text"])
            batch = []
    if batch:
        Prospect.objects.bulk_update(batch, ["search_text"])


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0002_client_storage_bytes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("prospects", "0004_fewer_write_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="importrowerror",
            name="client",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="clients.client",
            ),
        ),
        migrations.AlterField(
            model_name="importrowerror",
            name="job",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="row_errors",
                to="prospects.importjob",
            ),
        ),
        migrations.AlterField(
            model_name="prospect",
            name="public_id",
            field=models.UUIDField(default=uuid_utils.compat.uuid7, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="prospect",
            name="created_by",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="prospect",
            name="import_job",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="prospects.importjob",
            ),
        ),
        migrations.AlterField(
            model_name="prospect",
            name="updated_by",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="prospectphone",
            name="client",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="clients.client",
            ),
        ),
        migrations.AlterField(
            model_name="prospectphone",
            name="prospect",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="phones",
                to="prospects.prospect",
            ),
        ),
        PostgresOnlySQL(
            "DROP INDEX prospect_name_prefix",
            "CREATE INDEX prospect_name_prefix ON prospects_prospect "
            "(client_id, name_key varchar_pattern_ops)",
        ),
        migrations.RunPython(recompute_search_text, migrations.RunPython.noop, elidable=True),
    ]
