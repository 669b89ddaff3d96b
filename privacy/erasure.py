"""Erasing a person: every holding of the personal data registry (opsx/personal_data.py).

SCAFFOLD: user_erase's signature is the interface other modules call; its body is replaced
by the erasure engine.
"""

from accounts.models import User


def user_erase(*, user: User, actor: User | None, reason: str) -> dict:
    """Erase or irreversibly anonymise everything OpsX holds about `user`. Returns counts by
    model label. Callers: the deletion request, the child-data report, retention of
    deactivated users, client closure."""
    raise NotImplementedError("the erasure engine replaces this")
