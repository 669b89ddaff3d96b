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
            self._prospects(client)
        self._user(STAFF[1], full_name=STAFF[0], client=None, is_staff=True, is_superuser=True)
        rows.append((STAFF[1], "HexCM staff: Django admin at /admin/ (sets up 2FA on first visit)"))

        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for all: {DEMO_PASSWORD})"))
        for email, what in rows:
            self.stdout.write(f"  {email:<26} {what}")

    def _prospects(self, client):
        """A few prospects with a custom field, a checklist, visits and notes, once per client."""
        from prospects import services
        from prospects.models import Checklist, CustomField, Prospect

        if Prospect.objects.for_client(client).exists():
            return
        admin, member = User.objects.for_client(client).order_by("role", "email")[
            :2
        ]  # admin < member
        CustomField.objects.create(
            client=client,
            key="region",
            label="Region",
            kind="choice",
            choices=["North", "South", "East", "West"],
        )
        checklist = Checklist.objects.create(
            client=client,
            name="Store visit",
            items=[
                {"key": "shelf-photo", "label": "Shelf photo", "kind": "photo", "required": False},
                {"key": "boxes", "label": "Boxes ordered", "kind": "number", "required": True},
                {"key": "samples", "label": "Samples given", "kind": "check", "required": False},
            ],
        )
        people = ["Ravi Kumar", "Anita Desai", "Grace Hopper", "Arjun Mehta", "Sara Lopez", "Kenji Sato",
                  "Priya Nair", "Tom Becker", "Lena Fischer", "Omar Haddad", "Mei Chen", "John Smith"]  # fmt: skip
        statuses = list(Prospect.Status.values)
        for i, name in enumerate(people):
            prospect = services.prospect_create(
                client=client,
                actor=member,
                raw={
                    "name": name,
                    "organisation": f"{name.split()[1]} Traders",
                    "email": f"{name.lower().replace(' ', '.')}@{client.slug}-customer.example",
                    "phones": f"+91 98{client.pk % 100:02d}{i:02d} {i:04d}",
                    "status": statuses[i % len(statuses)],
                    "owner": (member, admin, None)[i % 3],
                    "city": ("Bengaluru", "Mumbai", "Delhi", "Chennai")[i % 4],
                    "country": "IN",
                    "tags": ("vip", "north", "wholesale")[i % 3],
                    "custom.region": ("North", "South", "East", "West")[i % 4],
                },
            )
            services.prospect_add_note(
                prospect=prospect, actor=member, text="First call: interested in the spring range."
            )
            if i % 2 == 0:
                services.visit_plan(
                    prospect=prospect,
                    actor=member,
                    user=member,
                    scheduled_at=timezone.now(),
                    checklist=checklist,
                )

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
