"""Retention: a user deactivated longer than DEACTIVATED_USER_RETENTION_DAYS is erased by the
daily task, not a reactivated one; a held one is anonymised once; the client admin sees when."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.models import User
from clients.models import AuditEvent
from privacy.holds import legal_hold_set
from privacy.tasks import privacy_retention
from tests.conftest import sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _deactivate(user, *, days_ago: int, acting_user) -> None:
    account_services.user_deactivate(target=user, acting_user=acting_user)
    User.objects.filter(pk=user.pk).update(deactivated_at=timezone.now() - timedelta(days=days_ago))


def test_users_deactivated_past_the_retention_period_are_erased(personas, settings):
    settings.DEACTIVATED_USER_RETENTION_DAYS = 90
    _deactivate(personas.bob, days_ago=91, acting_user=personas.alice)
    _deactivate(personas.dan, days_ago=89, acting_user=personas.carol)
    back = UserFactory(client=personas.client_a)
    _deactivate(back, days_ago=200, acting_user=personas.alice)
    account_services.user_reactivate(target=back, acting_user=personas.alice)

    assert privacy_retention.delay().get() == {"users_erased": 1, "users_held": 0}

    assert not User.objects.filter(pk=personas.bob.pk).exists()
    assert User.objects.filter(pk__in=[personas.dan.pk, back.pk, personas.alice.pk]).count() == 3
    event = AuditEvent.objects.get(action="retention.applied")
    assert event.counts == {"users_erased": 1, "users_held": 0} and event.actor_id is None
    assert AuditEvent.objects.filter(action="user.erased").count() == 1


def test_a_held_user_is_anonymised_once_then_erased_after_the_release(personas, sam, settings):
    settings.DEACTIVATED_USER_RETENTION_DAYS = 30
    _deactivate(personas.bob, days_ago=31, acting_user=personas.alice)
    hold = legal_hold_set(user=personas.bob, reason="Dispute", actor=sam)
    assert privacy_retention() == {"users_erased": 0, "users_held": 1}
    assert User.objects.get(pk=personas.bob.pk).full_name == ""
    assert privacy_retention() == {"users_erased": 0, "users_held": 0}  # left alone
    from privacy.holds import legal_hold_release

    legal_hold_release(hold=hold, actor=sam)
    assert privacy_retention() == {"users_erased": 1, "users_held": 0}
    assert not User.objects.filter(pk=personas.bob.pk).exists()


def test_the_client_admin_sees_when_a_deactivated_users_data_is_erased(
    client, personas, settings, django_assert_max_num_queries
):
    settings.DEACTIVATED_USER_RETENTION_DAYS = 90
    account_services.user_deactivate(target=personas.bob, acting_user=personas.alice)
    personas.bob.refresh_from_db()
    when = personas.bob.deactivated_at + timedelta(days=90)
    sign_in(client, personas.alice)
    url = reverse("admin_tasks:users")
    with django_assert_max_num_queries(12) as one:
        response = client.get(url)
    assert response.status_code == 200
    assert f"personal data erased on {when:%Y-%m-%d}" in response.content.decode()
    for _ in range(20):
        account_services.user_deactivate(
            target=UserFactory(client=personas.client_a), acting_user=personas.alice
        )
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count("personal data erased on") == 21
