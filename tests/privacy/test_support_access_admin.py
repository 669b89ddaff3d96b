"""Staff see support grants and the log of pages viewed in Django admin, read-only, in a
constant number of queries; they can never make, change or delete a grant."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from privacy.models import SupportAccessLog, SupportGrant
from tests.factories import UserFactory
from tests.privacy.support_steps import grant


def _grants(personas, n):
    users = [UserFactory(client=personas.client_a) for _ in range(n)]
    return [grant(user) for user in users]


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [1, 30])
def test_the_grant_list_is_read_in_constant_queries(
    client, personas, sam, rows, django_assert_max_num_queries
):
    grants = _grants(personas, rows)
    now = timezone.now()
    SupportAccessLog.objects.bulk_create(
        SupportAccessLog(
            grant=g, staff=sam, at=now - timedelta(seconds=i), method="GET", path="/app/"
        )
        for i, g in enumerate(grants)
    )
    client.force_login(sam)
    client.get(reverse("admin:index"))
    for name in ("privacy_supportgrant_changelist", "privacy_supportaccesslog_changelist"):
        # the staff member, the MFA check, two counts (filtered and all), the rows with their
        # users (one query), the date hierarchy (range and days), the filter's choices,
        # savepoint and release
        with django_assert_max_num_queries(10):
            response = client.get(reverse(f"admin:{name}"))
        assert response.status_code == 200
        assert response.content.decode().count(grants[-1].user.email) >= 1


@pytest.mark.django_db
def test_staff_cannot_make_change_or_delete_a_grant(client, personas, sam):
    grant_obj = grant(personas.bob, days=2)
    client.force_login(sam)
    assert client.get(reverse("admin:privacy_supportgrant_add")).status_code == 403
    change = reverse("admin:privacy_supportgrant_change", args=[grant_obj.pk])
    page = client.get(change)
    assert page.status_code == 200  # to read
    client.post(change, {"expires_at": "2099-01-01 00:00", "allow_downloads": "on"})
    assert SupportGrant.objects.get(pk=grant_obj.pk).expires_at == grant_obj.expires_at
    delete = reverse("admin:privacy_supportgrant_delete", args=[grant_obj.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert SupportGrant.objects.filter(pk=grant_obj.pk).exists()
