from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts import staff_enrolment
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
        "running it again changes nothing that exists. Prints the logins and a two-factor "
        "enrolment link for the staff user. Refuses to run with DEBUG false (the demo password "
        "is published) unless --i-know-this-is-not-production is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--i-know-this-is-not-production",
            action="store_true",
            dest="not_production",
            help="seed although DEBUG is false (docker compose's one-off, a staging copy)",
        )

    @transaction.atomic
    def handle(self, *args, not_production=False, **options):
        if not settings.DEBUG and not not_production:
            raise CommandError(
                "Refusing to load demo data: DEBUG is false, so this looks like production, and "
                f"the demo users share the published password {DEMO_PASSWORD!r}. If this "
                "database is not production, run it again with --i-know-this-is-not-production."
            )
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
            self._billing(client)
        self._usage_today()
        staff = self._user(
            STAFF[1], full_name=STAFF[0], client=None, is_staff=True, is_superuser=True
        )
        rows.append((STAFF[1], "HexCM staff: Django admin at /admin/ (two-factor required)"))

        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for all: {DEMO_PASSWORD})"))
        for email, what in rows:
            self.stdout.write(f"  {email:<26} {what}")
        self.stdout.write(
            "The mobile app's API: sign in at /_allauth/app/v1/auth/login with one of the "
            "client logins above; its documents are at /api/v1/docs."
        )
        if not staff_enrolment.has_totp(staff):
            # The password is published; staff two-factor needs a link, printed here only.
            url = staff_enrolment.staff_enrolment_issue(user=staff, acting_user=None)
            self.stdout.write(
                f"Staff two-factor enrolment link (sign in as {STAFF[1]}, then open it; works "
                f"once, for {settings.STAFF_ENROLMENT_LINK_MAX_AGE_HOURS} hours):\n  {url}"
            )

    def _billing(self, client):
        """The default plan with its trial, as a company signing up gets."""
        from clients import billing
        from clients.models import ClientBilling

        if not ClientBilling.objects.filter(client=client, plan__isnull=False).exists():
            billing.billing_start(client=client, actor=None)

    def _usage_today(self):
        """Today's usage figures, so Admin tasks -> Usage shows something at once (requests
        are counted from here on, and the figures written every night)."""
        from datetime import UTC, datetime

        from clients import usage

        usage.usage_record_day(datetime.now(UTC).date())

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
