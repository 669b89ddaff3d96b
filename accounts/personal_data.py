"""Where accounts (and allauth, which this app wires in) keep personal data about a user: the
personal data registry's entries (opsx/personal_data.py)."""

from opsx.personal_data import Erase, Holding, register

register(
    Holding(
        "accounts.User",
        user_fields=("id",),
        export=(
            "public_id",
            "email",
            "full_name",
            "role",
            "is_active",
            "date_joined",
            "last_login",
            "deactivated_at",
            "age_check_passed_at",
        ),
        # Deleted last, by the engine, once everything pointing at it has been dealt with.
        erase=Erase.CUSTOM,
        handler="privacy.erasure:erase_user_row",
        title="Your account",
    ),
    Holding(
        "accounts.ProfileRevision",
        user_fields=("user", "changed_by"),
        export=("field", "old_value", "new_value", "changed_at"),
        # Their own revisions go with them; a revision they made of someone else's profile (an
        # admin) stays with that person and forgets who made it.
        erase=Erase.CUSTOM,
        handler="privacy.erasure:erase_profile_revisions",
        title="Changes to your name and email address",
    ),
    Holding(
        "accounts.Invitation",
        user_fields=("invited_by", "accepted_user"),
        email_fields=("email",),
        export=("public_id", "email", "role", "status", "created_at", "sent_at"),
        # Invitations to their address are deleted; invitations they sent to others stay with
        # the client and no longer name them.
        erase=Erase.CUSTOM,
        handler="privacy.erasure:erase_invitations",
        title="Invitations",
    ),
    Holding(
        "accounts.Referral",
        user_fields=("referrer",),
        email_fields=("friend_email",),
        # The referrer sees the friends they named (they typed it); a friend who signed up
        # sees what was said about them and sent to them, never who the other referrers were.
        export=("public_id", "friend_name", "friend_email", "note", "status", "created_at"),
        # Both sides go: the referrer's referrals with them, and referrals to the person's
        # addresses (the friend's data).
        erase=Erase.DELETE,
        title="Friends you told about OpsX, and invitations to you",
    ),
    Holding(
        "account.EmailAddress",
        user_fields=("user",),
        email_fields=("email",),
        export=("email", "verified", "primary"),
        title="Email addresses",
    ),
    Holding(
        "usersessions.UserSession",
        user_fields=("user",),
        export=("created_at", "last_seen_at", "ip", "user_agent"),
        # Deleting the row is not enough: the session itself is ended first (engine).
        erase=Erase.CUSTOM,
        handler="privacy.erasure:erase_sessions",
        title="Signed-in sessions and sign-in records",
    ),
    Holding(
        "mfa.Authenticator",
        user_fields=("user",),
        # The type and dates only: the secret and the recovery codes never leave OpsX.
        export=("type", "created_at", "last_used_at"),
        title="Two-factor authentication",
    ),
)
