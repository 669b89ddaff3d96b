from django.contrib.admin.apps import AdminConfig


class OpsxAdminConfig(AdminConfig):
    """Django admin with our site: allauth sign-in and MFA required (opsx.admin_site)."""

    default_site = "opsx.admin_site.OpsxAdminSite"
