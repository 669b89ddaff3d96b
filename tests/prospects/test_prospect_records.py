"""Creating and editing prospects: validation, phones in E.164, custom fields, the timeline."""

import pytest
from django.urls import reverse

from prospects import services
from prospects.models import CustomField, Prospect, ProspectEvent
from tests.factories import ProspectFactory


def _create(client, **data):
    return client.post(reverse("prospects:create"), {"name": "Ravi Kumar", "status": "new", **data})


@pytest.fixture
def signed_in(client, personas):
    client.force_login(personas.bob)
    return client


@pytest.mark.django_db
def test_a_prospect_is_created_with_normalised_email_and_phones(signed_in, personas):
    response = _create(
        signed_in,
        email="Ravi@Example.COM",
        phones="098765 43210; +44 (20) 7946-0958",
        tags="VIP, north, vip",
        country="in",
    )
    prospect = Prospect.objects.get()
    assert response["Location"] == reverse("prospects:detail", args=[prospect.public_id])
    assert prospect.client == personas.client_a and prospect.created_by == personas.bob
    assert prospect.email == "ravi@example.com" and prospect.country == "IN"
    assert list(prospect.phones.order_by("id").values_list("number", flat=True)) == [
        "+919876543210",
        "+442079460958",
    ]
    assert prospect.tags == ["vip", "north"]


@pytest.mark.django_db
def test_pages_show_numbers_as_people_write_them_and_the_address_without_empty_lines(
    signed_in, personas
):
    _create(signed_in, phones="098765 43210; +44 (20) 7946-0958", city="Pune", country="IN")
    prospect = Prospect.objects.get()
    detail = signed_in.get(reverse("prospects:detail", args=[prospect.public_id])).content.decode()
    assert '<a href="tel:+919876543210">+91 98765 43210</a>' in detail  # dials E.164
    assert "+44 20 7946 0958" in detail
    assert "<dt>Address</dt><dd>Pune<br>IN</dd>" in detail
    listed = signed_in.get(reverse("prospects:list")).content.decode()
    assert "+91 98765 43210<br>+44 20 7946 0958" in listed
    prospect.address_line2, prospect.postal_code, prospect.state = "Floor 2", "411001", "MH"
    assert prospect.address_lines == ["Floor 2", "411001 Pune, MH", "IN"]


@pytest.mark.django_db
def test_the_same_number_typed_two_ways_is_one_number(signed_in):
    _create(signed_in, phones="+91 98765 43210; 098765-43210; (+91)9876543210")
    assert list(Prospect.objects.get().phones.values_list("number", flat=True)) == ["+919876543210"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": ""}, "This field is required"),
        ({"name": "   "}, "This field is required"),
        ({"email": "not-an-email"}, "not a valid email address"),
        ({"phones": "12345"}, "not a valid phone number"),
        ({"phones": "call me maybe"}, "not a valid phone number"),
        ({"latitude": "north"}, "latitude must be a number"),
        ({"latitude": "91"}, "between -90 and 90"),
        ({"longitude": "NaN"}, "longitude must be"),
        ({"country": "XX"}, "two-letter country code"),
        ({"status": "won"}, "Select a valid choice"),
        ({"name": "x" * 201}, "at most 200 characters"),
        ({"tags": "a" * 41}, "longer than 40 characters"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(signed_in, data, message):
    response = _create(signed_in, **data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Prospect.objects.exists()


@pytest.mark.django_db
def test_an_owner_from_another_client_is_refused(signed_in, personas):
    response = _create(signed_in, owner=personas.dan.pk)
    assert response.status_code == 400
    assert not Prospect.objects.exists()


@pytest.mark.django_db
def test_custom_fields_are_validated_against_their_definitions(signed_in, personas):
    CustomField.objects.create(
        client=personas.client_a, key="budget", label="Budget", kind="number"
    )
    CustomField.objects.create(
        client=personas.client_a, key="visit_day", label="Visit day", kind="date"
    )
    CustomField.objects.create(
        client=personas.client_a,
        key="region",
        label="Region",
        kind="choice",
        choices=["North", "South"],
        required=True,
    )
    CustomField.objects.create(client=personas.client_a, key="vip", label="VIP", kind="boolean")

    response = _create(
        signed_in,
        **{"custom.budget": "lots", "custom.visit_day": "31/12/2026", "custom.region": ""},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert (
        "Budget must be a number" in page
        and "Visit day must be a date" in page
        and "Region is required" in page
    )

    _create(
        signed_in,
        **{
            "custom.budget": "1,500",
            "custom.visit_day": "2026-12-31",
            "custom.region": "South",
            "custom.vip": "yes",
        },
    )
    assert Prospect.objects.get().custom == {
        "budget": 1500,
        "visit_day": "2026-12-31",
        "region": "South",
        "vip": True,
    }


@pytest.mark.django_db
def test_a_tampered_choice_value_is_refused(signed_in, personas):
    CustomField.objects.create(
        client=personas.client_a, key="region", label="Region", kind="choice", choices=["North"]
    )
    response = _create(signed_in, **{"custom.region": "Atlantis"})
    assert response.status_code == 400
    assert not Prospect.objects.exists()


@pytest.mark.django_db
def test_editing_a_status_writes_the_change_to_the_timeline(signed_in, personas):
    prospect = ProspectFactory(client=personas.client_a, name="Ravi")
    response = signed_in.post(
        reverse("prospects:edit", args=[prospect.public_id]),
        {"name": "Ravi", "status": "interested"},
    )
    assert response.status_code == 302
    event = ProspectEvent.objects.get(prospect=prospect, kind="status")
    assert event.text == "New → Interested" and event.actor == personas.bob
    page = signed_in.get(reverse("prospects:detail", args=[prospect.public_id])).content.decode()
    assert "New → Interested" in page


@pytest.mark.django_db
def test_the_timeline_shows_notes_visits_and_files_newest_first(signed_in, personas):
    prospect = ProspectFactory(client=personas.client_a)
    services.prospect_add_note(prospect=prospect, actor=personas.bob, text="First call went well")
    services.visit_plan(prospect=prospect, actor=personas.bob, user=personas.bob, scheduled_at=None)
    services.prospect_add_note(prospect=prospect, actor=personas.bob, text="Second note")
    page = signed_in.get(reverse("prospects:detail", args=[prospect.public_id])).content.decode()
    assert (
        page.index("Second note")
        < page.index("Visit planned")
        < page.index("First call went well")
        < page.index("<strong>Created</strong>")
    )


@pytest.mark.django_db
def test_an_empty_note_is_refused(signed_in, personas):
    prospect = ProspectFactory(client=personas.client_a)
    response = signed_in.post(
        reverse("prospects:note", args=[prospect.public_id]), {"text": ""}, follow=True
    )
    assert "This field is required" in response.content.decode()
    assert not ProspectEvent.objects.exists()


@pytest.mark.django_db
def test_the_detail_page_runs_a_constant_number_of_queries(
    signed_in, personas, django_assert_max_num_queries
):
    prospect = ProspectFactory(client=personas.client_a, phones=["+919876543210"])
    for i in range(30):
        services.prospect_add_note(prospect=prospect, actor=personas.bob, text=f"note {i}")
        services.visit_plan(
            prospect=prospect, actor=personas.bob, user=personas.bob, scheduled_at=None
        )
    signed_in.get(reverse("dashboard"))
    with django_assert_max_num_queries(16):  # with the tenant scope set and reset
        response = signed_in.get(reverse("prospects:detail", args=[prospect.public_id]))
    assert response.status_code == 200 and "note 29" in response.content.decode()
