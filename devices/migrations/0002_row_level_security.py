"""Row-level security on the devices tables (clients/tenancy.py). Registering a device runs
unscoped, as sign-in does: the same phone may hold another client's user's device."""

from django.db import migrations

from opsx.migration_ops import EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [("devices", "0001_devices")]

    operations = [
        EnableTenantRLS("devices_device"),
        EnableTenantRLS("devices_idempotencyrecord"),
    ]
