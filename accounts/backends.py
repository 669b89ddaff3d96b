from allauth.account.auth_backends import AuthenticationBackend


class _UserWithClient:
    """Load the session's user together with its client: one query per request, not two."""

    def get_user(self, user_id):
        from .models import User

        user = User.objects.select_related("client").filter(pk=user_id).first()
        return user if user and self.user_can_authenticate(user) else None


class AllauthBackend(_UserWithClient, AuthenticationBackend):
    pass
