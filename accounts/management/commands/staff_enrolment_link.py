from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts import staff_enrolment
from accounts.models import User


class Command(BaseCommand):
    help = (
        "Print a single-use link with which a HexCM staff user sets up two-factor "
        "authentication (required for Django admin; the password alone cannot do it). Give the "
        "link to that person only. Any older link of theirs stops working. Run it right after "
        "createsuperuser."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="the staff user's email address")

    def handle(self, *args, email, **options):
        user = User.objects.filter(email=email.strip().lower()).first()
        if user is None:
            raise CommandError(f"No user has the address {email}.")
        if not user.is_staff:
            raise CommandError(
                f"{user.email} is not HexCM staff; client users set up two-factor "
                "authentication from their account settings, without a link."
            )
        if staff_enrolment.has_totp(user):
            raise CommandError(
                f"{user.email} has two-factor authentication already. To move it to a new "
                "device, delete their TOTP authenticator in the support admin first."
            )
        url = staff_enrolment.staff_enrolment_issue(user=user, acting_user=None)
        hours = settings.STAFF_ENROLMENT_LINK_MAX_AGE_HOURS
        self.stdout.write(
            f"Two-factor enrolment link for {user.email} (works once, for {hours} hours; "
            "open it signed in as that user):"
        )
        self.stdout.write(url)
