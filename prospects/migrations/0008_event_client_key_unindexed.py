"""The timeline index (client, prospect, at) already starts with the client: the client key's
own index only cost each event written (an import writes one per updated prospect)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0002_client_storage_bytes"),
        ("prospects", "0007_folder_ancestry"),
    ]

    operations = [
        migrations.AlterField(
            model_name="prospectevent",
            name="client",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="clients.client",
            ),
        ),
    ]
