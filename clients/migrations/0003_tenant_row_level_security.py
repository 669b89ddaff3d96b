"""Tenant isolation by PostgreSQL row-level security (clients/tenancy.py): the restricted role
that tenant transactions switch to, and the client table itself, where a tenant transaction
sees only its own client's row."""

from django.db import migrations

from opsx.migration_ops import CreateTenantRole, EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [("clients", "0002_client_storage_bytes")]

    operations = [
        CreateTenantRole(),
        EnableTenantRLS("clients_client", column="id"),
    ]
