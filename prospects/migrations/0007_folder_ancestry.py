"""Folders keep the public ids of the folders above them, so that the breadcrumb and a folder's
subtree are one query each whatever the depth (they took one query per level)."""

from django.db import migrations, models


def fill_ancestry(apps, schema_editor):
    """Existing folders get their ancestry, a level at a time from the top."""
    Folder = apps.get_model("prospects", "Folder")
    prefixes = {}  # pk -> the ancestry of its children
    level = list(Folder.objects.filter(parent__isnull=True))
    while level:
        for folder in level:
            prefixes[folder.pk] = f"{folder.ancestry}{folder.public_id}/"
        children = list(Folder.objects.filter(parent_id__in=[f.pk for f in level]))
        for child in children:
            child.ancestry = prefixes[child.parent_id]
        Folder.objects.bulk_update(children, ["ancestry"], batch_size=1000)
        level = children


class Migration(migrations.Migration):
    dependencies = [
        ("prospects", "0006_name_index_covers_filters"),
    ]

    operations = [
        migrations.AddField(
            model_name="folder",
            name="ancestry",
            field=models.CharField(default="", editable=False, max_length=740),
        ),
        migrations.RunPython(fill_ancestry, migrations.RunPython.noop),
    ]
