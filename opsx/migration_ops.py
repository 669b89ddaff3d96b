from django.db import migrations

# The restricted role of tenant transactions and their client setting (clients/tenancy.py).
TENANT_ROLE = "opsx_tenant"
TENANT_SETTING = "opsx.client_id"


class PostgresOnlySQL(migrations.RunSQL):
    """RunSQL that does nothing on other databases (the embedded SQLite default).

    For PostgreSQL features the models cannot declare portably: trigram and GIN indexes.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class CreateTenantRole(PostgresOnlySQL):
    """The restricted role that tenant transactions switch to (`SET LOCAL ROLE opsx_tenant`,
    clients/tenancy.py): NOLOGIN, NOBYPASSRLS, never the tables' owner, so row-level
    security applies to it. It may read and write every table of this schema, now and later
    (default privileges for tables the migrating role creates); which rows is the policies'
    business. The connection role becomes a member so that it may switch to it, which needs
    CREATEROLE when that role is not a superuser (README, Tenancy).

    Roles belong to the whole PostgreSQL cluster, so it is created only when missing (other
    databases of the cluster may use it) and never dropped on the way back.
    """

    def __init__(self):
        role = TENANT_ROLE
        grants = (
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};"
            f" GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};"
            " ALTER DEFAULT PRIVILEGES IN SCHEMA public"
            f" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role};"
            f" ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role};"
        )
        super().__init__(
            sql=(
                "DO $$ BEGIN"
                f" CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS;"
                " EXCEPTION WHEN duplicate_object THEN NULL; END $$;"
                f" GRANT {role} TO CURRENT_USER; GRANT USAGE ON SCHEMA public TO {role}; {grants}"
            ),
            reverse_sql=(
                f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role};"  # noqa: S608
                f" REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role};"
                " ALTER DEFAULT PRIVILEGES IN SCHEMA public"
                f" REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {role};"
                f" ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM {role};"
            ),
        )

    def deconstruct(self):
        return self.__class__.__name__, [], {}

    def describe(self):
        return f"Create the restricted role {TENANT_ROLE} for tenant transactions"


class EnableTenantRLS(PostgresOnlySQL):
    """Row-level security on one table of Client Data: enabled and forced, with one policy
    comparing `column` (the client key) with the transaction's `opsx.client_id` setting, for
    reads (USING) and writes (WITH CHECK). A missing or empty setting matches no row.

    Every model with a direct `client` key needs one, in the migration after the one that
    creates its table: `EnableTenantRLS("clients_auditevent")`. The `tenant_rls` system check
    (clients/checks.py) and tests/clients/test_row_level_security.py fail until it is there.

    The policy is for every role (PUBLIC): the connection role bypasses it (superuser, or
    BYPASSRLS in production) and is the named exception for admin, tasks and commands; any
    other role, opsx_tenant first, sees one client or nothing.
    """

    def __init__(self, table: str, column: str = "client_id"):
        self.table, self.column = table, column
        policy = f"{table}_tenant"
        match = f"{column} = NULLIF(current_setting('{TENANT_SETTING}', true), '')::bigint"
        super().__init__(
            sql=(
                f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;"
                f" ALTER TABLE {table} FORCE ROW LEVEL SECURITY;"
                f" CREATE POLICY {policy} ON {table} USING ({match}) WITH CHECK ({match});"
            ),
            reverse_sql=(
                f"DROP POLICY IF EXISTS {policy} ON {table};"
                f" ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;"
                f" ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;"
            ),
        )

    def deconstruct(self):
        kwargs = {"column": self.column} if self.column != "client_id" else {}
        return self.__class__.__name__, [self.table], kwargs

    def describe(self):
        return f"Row-level security on {self.table} by {self.column}"
