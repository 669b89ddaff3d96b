from decimal import Decimal

from django.db import migrations

# The plans of the pricing page (templates/website/pricing.html); staff change them in admin.
PLANS = [
    ("team", "Team", Decimal("399.00")),
    ("business", "Business", Decimal("699.00")),
]


def add_plans(apps, schema_editor):
    Plan = apps.get_model("clients", "Plan")
    for code, name, price in PLANS:
        Plan.objects.get_or_create(
            code=code, defaults={"name": name, "price_per_user": price, "trial_days": 30}
        )


class Migration(migrations.Migration):
    dependencies = [("clients", "0011_billing")]

    operations = [migrations.RunPython(add_plans, migrations.RunPython.noop)]
