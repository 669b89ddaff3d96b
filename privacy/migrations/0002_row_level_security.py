"""Row-level security on the privacy tables with a client key (clients/tenancy.py): a prospect
data request belongs to the client that holds the prospect, and a closure to its client."""

from django.db import migrations

from opsx.migration_ops import EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0005_privacy_operations"),
        ("privacy", "0001_privacy_operations"),
    ]

    operations = [
        EnableTenantRLS("privacy_privacyrequest"),
        EnableTenantRLS("privacy_clientclosure"),
    ]
