"""Policy versions get a public id (the audit trail names what was published by it) and a
label that can be part of an address. Existing rows get their own uuid before the column
becomes unique (Django's recipe for adding a unique field)."""

import uuid

import django.core.validators
from django.db import migrations, models


def fill_public_ids(apps, schema_editor):
    PolicyVersion = apps.get_model("privacy", "PolicyVersion")
    for version in PolicyVersion.objects.filter(public_id__isnull=True).only("pk"):
        version.public_id = uuid.uuid4()
        version.save(update_fields=["public_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0002_row_level_security"),
    ]

    operations = [
        migrations.AddField(
            model_name="policyversion",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(fill_public_ids, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="policyversion",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="policyversion",
            name="label",
            field=models.CharField(
                max_length=40,
                unique=True,
                validators=[
                    django.core.validators.RegexValidator(
                        "\\A[A-Za-z0-9][A-Za-z0-9._-]{0,39}\\Z",
                        "Use letters, digits, dots, dashes or underscores (it is part of the page's address).",
                    )
                ],
            ),
        ),
    ]
