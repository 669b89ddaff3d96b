from allauth.account.auth_backends import AuthenticationBackend


class _UserWithClient:
    """Load the session's user together with its client: one query per request, not two."""

    def get_user(self, user_id):
        from .models import User

        # Every signed-in request runs this. `first()` would add User.Meta.ordering
        # (full_name, email) to a primary-key lookup: an ORDER BY for PostgreSQL to sort one row
        # and about a third of the query's compile time for Django; `get()` orders by nothing.
        try:
            user = User.objects.select_related("client").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


class AllauthBackend(_UserWithClient, AuthenticationBackend):
    pass
