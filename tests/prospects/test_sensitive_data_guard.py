"""Free text refuses payment card, Aadhaar and US SSN numbers, naming the kind; nothing else."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from prospects.models import Prospect, ProspectEvent
from prospects.sensitive import check_text, find_sensitive


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("card 4111 1111 1111 1111 exp 12/29", "card"),
        ("paid with 5500-0000-0000-0004", "card"),
        ("amex 378282246310005", "card"),
        ("Aadhaar: 2341 2341 2346", "aadhaar"),
        ("aadhaar 234123412346", "aadhaar"),
        ("SSN 123-45-6789", "ssn"),
    ],
)
def test_it_finds_each_kind(text, kind):
    assert find_sensitive(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        "Call +91 98765 43210 after 5pm",
        "order 4111 1111 1111 1112 (not Luhn-valid)",
        "0000 0000 0000 0000",
        "a 12-digit number that fails Verhoeff: 2341 2341 2347",
        "invoice 123412341234 starts with 1",
        "SSN-like but never issued: 000-12-3456, 666-12-3456, 900-12-3456",
        "meeting on 2026-11-24 at 10:30, 3 boxes of 12",
        "phone 919876543210",
        "",
    ],
)
def test_ordinary_text_passes(text):
    assert find_sensitive(text) is None


def test_the_message_names_the_kind_found():
    with pytest.raises(ValidationError) as exc:
        check_text("4111111111111111", field="The report")
    assert "The report seems to contain a payment card number" in exc.value.messages[0]


@pytest.mark.django_db
def test_prospect_notes_with_a_card_number_are_refused_and_nothing_is_saved(client, personas):
    client.force_login(personas.bob)
    response = client.post(
        reverse("prospects:create"),
        {"name": "Ravi", "status": "new", "notes": "card 4111 1111 1111 1111"},
    )
    assert response.status_code == 400
    assert "seems to contain a payment card number" in response.content.decode()
    assert not Prospect.objects.exists()


@pytest.mark.django_db
def test_a_timeline_note_with_an_ssn_is_refused(client, personas):
    from tests.factories import ProspectFactory

    prospect = ProspectFactory(client=personas.client_a)
    client.force_login(personas.bob)
    response = client.post(
        reverse("prospects:note", args=[prospect.public_id]),
        {"text": "his SSN is 123-45-6789"},
        follow=True,
    )
    assert "a US Social Security number" in response.content.decode()
    assert not ProspectEvent.objects.filter(kind="note").exists()
