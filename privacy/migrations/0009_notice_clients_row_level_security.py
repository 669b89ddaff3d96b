"""Row-level security on the notices' audience table: it has a client key (which clients'
users a notice is for), so a request of one client reads only its own row of it."""

from django.db import migrations

from opsx.migration_ops import EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [("privacy", "0008_notices_policy_notices")]

    operations = [EnableTenantRLS("privacy_notice_clients")]
