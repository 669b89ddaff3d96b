"""System check: every table of Client Data gets row-level security from a migration."""

from django.apps import apps
from django.core import checks


def tenant_tables() -> set[str]:
    """Tables of the models with a direct `client` key to Client: the Client Data."""
    from .models import Client

    return {
        model._meta.db_table
        for model in apps.get_models()
        if not model._meta.proxy
        and any(
            f.name == "client" and f.many_to_one and f.related_model is Client
            for f in model._meta.concrete_fields
        )
    }


def tables_with_rls_migration() -> set[str]:
    """Tables an EnableTenantRLS operation of some migration on disk covers."""
    from django.db.migrations.loader import MigrationLoader

    from opsx.migration_ops import EnableTenantRLS

    loader = MigrationLoader(None, ignore_no_migrations=True, load=True)
    return {
        operation.table
        for migration in loader.disk_migrations.values()
        for operation in migration.operations
        if isinstance(operation, EnableTenantRLS)
    }


@checks.register(checks.Tags.models)
def tenant_rls(app_configs=None, **kwargs):
    missing = sorted(tenant_tables() - tables_with_rls_migration())
    return [
        checks.Error(
            f"{table} has a client key but no row-level security.",
            hint=(
                "Add a migration with opsx.migration_ops.EnableTenantRLS"
                f'("{table}") after the one that creates the table.'
            ),
            id="clients.E001",
        )
        for table in missing
    ]
