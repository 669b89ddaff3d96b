"""Probe of the staff side: the request actions posted twice or out of turn, and odd query
strings on the privacy admin lists."""

import pytest
from django.urls import reverse

from privacy.models import AccessArchive

from .requests_helpers import account_request, confirmed_visitor_request, prospect_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, sam):
    client.force_login(sam)
    return client


def _act(request, action):
    return reverse("admin:privacy_privacyrequest_act", args=[request.pk, action])


def test_building_the_copy_again_while_one_is_made_is_a_400_and_builds_no_second_copy(
    staff_client, personas
):
    request = account_request(personas.bob)  # confirmed at once: its copy is being built
    assert AccessArchive.objects.filter(request=request).count() == 1
    first = staff_client.post(_act(request, "archive"))
    again = staff_client.post(_act(request, "archive"))
    assert first.status_code == again.status_code == 400
    assert "already being made" in again.content.decode()
    assert AccessArchive.objects.filter(request=request).count() == 1


def test_confirming_an_already_confirmed_request_says_so_with_a_400(staff_client, personas):
    for request in (
        confirmed_visitor_request(email="vic@visitor.example"),
        prospect_request(personas.client_a),
    ):
        response = staff_client.post(_act(request, "verify"))
        assert response.status_code == 400
        assert "already confirmed" in response.content.decode()


@pytest.mark.parametrize(
    "name",
    [
        "admin:privacy_privacyrequest_changelist",
        "admin:privacy_clientclosure_changelist",
        "admin:privacy_legalhold_changelist",
        "admin:privacy_policyversion_changelist",
        "admin:privacy_supportgrant_changelist",
    ],
)
def test_a_nul_character_in_a_lists_filter_is_a_400_not_a_500(staff_client, name):
    response = staff_client.get(reverse(name), {"status": "open\x00", "kind": "a\x00"})
    assert response.status_code == 400
    assert staff_client.get(reverse(name), {"q": "a\x00b"}).status_code == 400
    assert staff_client.get(reverse(name), {"q": "ab"}).status_code == 200


def test_the_digest_run_twice_in_a_day_mails_each_member_of_staff_once(sam):
    from datetime import timedelta

    from django.utils import timezone

    from privacy.models import PrivacyRequest
    from privacy.tasks import privacy_requests_digest

    from .requests_helpers import mails_to

    late = confirmed_visitor_request(email="late@visitor.example")
    PrivacyRequest.objects.filter(pk=late.pk).update(
        received_at=timezone.now() - timedelta(days=31), due_at=timezone.now() - timedelta(days=1)
    )
    assert privacy_requests_digest.delay().get() == 1
    assert privacy_requests_digest.delay().get() == 0
    assert len(mails_to("sam@hexcm.example", "Privacy requests:")) == 1
