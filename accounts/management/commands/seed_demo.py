from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from clients.models import Client

DEMO_PASSWORD = "opsx-demo-2026"  # noqa: S105 (demo data, printed on purpose)

DEMO = [
    (
        "Acme Field Services",
        "acme",
        [
            ("Ada Admin", "admin@acme.example", "admin"),
            ("Max Member", "member@acme.example", "member"),
        ],
    ),
    (
        "Globex Sales",
        "globex",
        [
            ("Gail Admin", "admin@globex.example", "admin"),
            ("Gus Member", "member@globex.example", "member"),
        ],
    ),
]
STAFF = ("Sam Support", "support@hexcm.example")


class Command(BaseCommand):
    help = (
        "Create demo clients, their admins and members, and one HexCM staff user. Idempotent: "
        "running it again changes nothing that exists. Prints the logins."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        now = timezone.now()
        rows = []
        for name, slug, people in DEMO:
            client, _ = Client.objects.get_or_create(
                slug=slug, defaults={"name": name, "contact_email": people[0][1]}
            )
            for full_name, email, role in people:
                self._user(
                    email, full_name=full_name, client=client, role=role, age_check_passed_at=now
                )
                rows.append((email, f"{role} of {client.name}"))
        self._user(STAFF[1], full_name=STAFF[0], client=None, is_staff=True, is_superuser=True)
        rows.append((STAFF[1], "HexCM staff: Django admin at /admin/ (sets up 2FA on first visit)"))

        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for all: {DEMO_PASSWORD})"))
        for email, what in rows:
            self.stdout.write(f"  {email:<26} {what}")

    def _user(self, email, **fields):
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User(email=email, **fields)
            user.set_password(DEMO_PASSWORD)
            user.save()
        EmailAddress.objects.get_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user
