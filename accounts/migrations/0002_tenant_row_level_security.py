"""Row-level security on the accounts tables with a client key (clients/tenancy.py). Sign-in
and allauth's pages run before or without a tenant scope, as the connection role; inside a
client's request only that client's users and invitations exist."""

from django.db import migrations

from opsx.migration_ops import EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("clients", "0003_tenant_row_level_security"),
    ]

    operations = [
        EnableTenantRLS("accounts_user"),
        EnableTenantRLS("accounts_invitation"),
    ]
