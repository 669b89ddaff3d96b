"""The site's URLs plus probes that run raw and unscoped queries inside a client user's
request, as forgotten filters would (tests/clients/test_row_level_security.py)."""

from django.db import connection
from django.http import JsonResponse
from django.urls import include, path

from accounts.models import User
from clients.decorators import client_member_required
from prospects.models import Prospect


def _one(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


@client_member_required
def probe(request):
    """What an unscoped ORM query, raw SQL and an UPDATE of someone else's row reach."""
    other = int(request.GET.get("other", 0))
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT client_id FROM prospects_prospect")
        raw_clients = sorted(row[0] for row in cursor.fetchall())
        cursor.execute("UPDATE prospects_prospect SET notes = 'raw' WHERE id = %s", [other])
        raw_updated = cursor.rowcount
    role, superuser, bypass = _one(
        "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )
    return JsonResponse(
        {
            "orm_count": Prospect.objects.count(),
            "orm_clients": sorted(set(Prospect.objects.values_list("client_id", flat=True))),
            "raw_clients": raw_clients,
            "orm_updated": Prospect.objects.filter(pk=other).update(notes="orm"),
            "raw_updated": raw_updated,
            "users": sorted(User.objects.values_list("email", flat=True)),
            "role": role,
            "superuser": superuser,
            "bypassrls": bypass,
            "setting": _one("SELECT current_setting('opsx.client_id', true)")[0],
            "backend": _one("SELECT pg_backend_pid()")[0],
        }
    )


@client_member_required
def boom(request):
    """A request that fails half-way, after reading."""
    Prospect.objects.count()
    raise RuntimeError("boom")


urlpatterns = [
    path("rls-probe/", probe, name="rls_probe"),
    path("rls-boom/", boom, name="rls_boom"),
    path("", include("opsx.urls")),
]
