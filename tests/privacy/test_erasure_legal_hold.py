"""A legal hold keeps the minimal record: the user row anonymised in place, and the keys of
what points at it; everything else is erased as usual."""

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from clients.models import AuditEvent
from opsx.personal_data import keyed_hash
from privacy.erasure import erased_address, user_erase
from privacy.holds import legal_hold_release, legal_hold_set
from privacy.models import LegalHold
from tests.factories import ProspectFactory

pytestmark = pytest.mark.django_db


def test_a_held_user_is_anonymised_in_place_and_their_client_data_keeps_pointing_at_it(
    personas, sam
):
    bob = personas.bob
    prospect = ProspectFactory(client=personas.client_a, owner=bob)
    AuditEvent.objects.create(
        client=personas.client_a,
        actor=bob,
        actor_kind="user",
        action="prospect.created",
        ip_address="198.51.100.9",
    )
    hold = legal_hold_set(user=bob, reason="Dispute with the client, case 42", actor=sam)
    email = bob.email

    counts = user_erase(user=bob, actor=sam, reason="deletion_request")

    kept = User.objects.get(pk=bob.pk)
    assert kept.email == erased_address(keyed_hash(email))
    assert kept.full_name == "" and not kept.is_active and kept.deactivated_at is not None
    assert not kept.has_usable_password()
    assert counts["accounts.User"] == 1
    assert not EmailAddress.objects.filter(user=kept).exists()
    prospect.refresh_from_db()
    assert prospect.owner_id == kept.pk  # the held record: which account did this
    hold.refresh_from_db()
    assert hold.user_id == kept.pk and hold.user_hash == keyed_hash(email)
    event = AuditEvent.objects.get(action="prospect.created")
    assert (event.actor_id, event.ip_address, event.actor_hash) == (None, None, keyed_hash(email))


def test_a_hold_set_by_the_hash_of_an_address_holds_too(personas, sam):
    bob = personas.bob
    LegalHold.objects.create(
        user=None,
        user_hash=keyed_hash(bob.email),
        reason="Court order",
        set_by=sam,
        set_at=timezone.now(),
    )
    user_erase(user=bob, actor=sam, reason="retention")
    assert User.objects.filter(pk=bob.pk, full_name="").exists()


def test_a_released_hold_no_longer_keeps_anything(personas, sam):
    bob = personas.bob
    hold = legal_hold_set(user=bob, reason="Dispute", actor=sam)
    legal_hold_release(hold=hold, actor=sam)
    user_erase(user=bob, actor=sam, reason="deletion_request")
    assert not User.objects.filter(pk=bob.pk).exists()
    hold.refresh_from_db()
    assert hold.user_id is None and hold.user_hash  # the hash and the reason stay
    with pytest.raises(ValidationError, match="already released"):
        legal_hold_release(hold=hold, actor=sam)


def test_a_hold_needs_a_reason_and_is_set_once(personas, sam):
    with pytest.raises(ValidationError, match="reason"):
        legal_hold_set(user=personas.bob, reason="  ", actor=sam)
    legal_hold_set(user=personas.bob, reason="Dispute", actor=sam)
    with pytest.raises(ValidationError, match="already"):
        legal_hold_set(user=personas.bob, reason="Another", actor=sam)
    assert AuditEvent.objects.filter(action="legal_hold.set", actor=sam).count() == 1


def test_staff_set_a_hold_in_admin_with_a_reason(client, personas, sam):
    client.force_login(sam)
    url = reverse("admin:privacy_legalhold_add")
    assert client.get(url).status_code == 200
    refused = client.post(url, {"user": personas.bob.pk, "reason": "   "})
    assert refused.status_code == 200
    assert "reason" in refused.context["adminform"].form.errors
    assert not LegalHold.objects.exists()
    response = client.post(url, {"user": personas.bob.pk, "reason": "Dispute, case 42"})
    assert response.status_code == 302
    hold = LegalHold.objects.get()
    assert (hold.user, hold.set_by, hold.reason) == (personas.bob, sam, "Dispute, case 42")
    assert AuditEvent.objects.filter(action="legal_hold.set").count() == 1


def test_staff_list_and_release_holds_in_admin(
    client, personas, sam, django_assert_max_num_queries
):
    for user in (personas.bob, personas.dan, personas.alice):
        legal_hold_set(user=user, reason="Dispute", actor=sam)
    client.force_login(sam)
    url = reverse("admin:privacy_legalhold_changelist")
    with django_assert_max_num_queries(12):
        assert client.get(url).status_code == 200
    hold = LegalHold.objects.get(user=personas.bob)
    assert client.get(reverse("admin:privacy_legalhold_change", args=[hold.pk])).status_code == 200
    response = client.post(url, {"action": "release_holds", "_selected_action": [hold.pk]})
    assert response.status_code == 302
    hold.refresh_from_db()
    assert hold.released_by == sam and hold.released_at is not None
    assert LegalHold.objects.filter(released_at=None).count() == 2
