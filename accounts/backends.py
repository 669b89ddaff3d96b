import functools

from allauth.account.auth_backends import AuthenticationBackend
from django.db import connection


@functools.cache
def _user_with_client_sql() -> tuple[str, list[str], list[str]] | None:
    """The statement that reads a user and its client, made once from the models' fields (a
    field added later is read too), with both field lists; None where rows need Django's
    conversions (SQLite's, or a field with from_db_value): the ORM's query then."""
    from clients.models import Client

    from .models import User

    models = (User, Client)
    fields = [list(model._meta.concrete_fields) for model in models]
    if connection.vendor != "postgresql" or any(
        hasattr(f, "from_db_value") for model_fields in fields for f in model_fields
    ):
        return None
    q = connection.ops.quote_name
    columns = [f"u.{q(f.column)}" for f in fields[0]] + [f"c.{q(f.column)}" for f in fields[1]]
    # Names from the models' own metadata, never from a request; the id is a parameter.
    user_table, client_table = q(User._meta.db_table), q(Client._meta.db_table)
    sql = (
        f"SELECT {', '.join(columns)} FROM {user_table} u"  # noqa: S608
        f" LEFT OUTER JOIN {client_table} c ON c.id = u.client_id WHERE u.id = %s"
    )
    return sql, [f.attname for f in fields[0]], [f.attname for f in fields[1]]


class _UserWithClient:
    """Load the session's user together with its client: one query per request, not two."""

    def get_user(self, user_id):
        from clients.models import Client

        from .models import User

        # Every signed-in request runs this. The ORM's select_related(...).get() spends about
        # 0.5 ms compiling the same statement each time; made once, it is read into the same
        # instances (the client cached on the user as select_related leaves it).
        prepared = _user_with_client_sql()
        if prepared is None:
            try:
                user = User.objects.select_related("client").get(pk=user_id)
            except User.DoesNotExist:
                return None
            return user if self.user_can_authenticate(user) else None
        sql, user_fields, client_fields = prepared
        with connection.cursor() as cursor:
            cursor.execute(sql, [user_id])
            row = cursor.fetchone()
        if row is None:
            return None
        user = User.from_db(connection.alias, user_fields, row[: len(user_fields)])
        client_row = row[len(user_fields) :]
        user._state.fields_cache["client"] = (
            None
            if user.client_id is None
            else Client.from_db(connection.alias, client_fields, client_row)
        )
        return user if self.user_can_authenticate(user) else None


class AllauthBackend(_UserWithClient, AuthenticationBackend):
    pass
