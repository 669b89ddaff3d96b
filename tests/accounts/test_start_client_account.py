"""Way in no. 1: a new company signs up and becomes a client with its first admin."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from clients.models import Client
from opsx.models import OutboundMessage


def _signup_data(**overrides):
    today = timezone.localdate()
    data = {
        "company_name": "Northwind Traders",
        "full_name": "Nora North",
        "email": "Nora@Northwind.example",
        "date_of_birth": today.replace(year=today.year - 30).isoformat(),
        "password1": "a sturdy pass phrase 42",
        "password2": "a sturdy pass phrase 42",
    }
    return {**data, **overrides}


def _years_ago_plus_days(years, days):
    today = timezone.localdate()
    try:
        date = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        date = today.replace(year=today.year - years, day=28)
    return date + datetime.timedelta(days=days)


@pytest.mark.django_db
def test_it_creates_the_client_and_its_first_admin_and_asks_to_verify_the_email(client):
    response = client.post(reverse("account_signup"), _signup_data())

    assert response.status_code == 302
    user = User.objects.get(email="nora@northwind.example")  # stored lower-case
    assert user.client.name == "Northwind Traders" and user.client.slug == "northwind-traders"
    assert user.role == User.Role.ADMIN and user.is_client_admin
    assert user.full_name == "Nora North"
    assert user.age_check_passed_at is not None
    mail = OutboundMessage.objects.get(to_email="nora@northwind.example")
    assert mail.category == "account" and "confirm" in mail.subject.lower()


@pytest.mark.django_db
def test_it_stores_no_birth_date_anywhere(client):
    client.post(reverse("account_signup"), _signup_data(date_of_birth="1990-04-17"))
    user = User.objects.get(email="nora@northwind.example")
    stored = [str(getattr(user, f.attname)) for f in User._meta.concrete_fields]
    assert not any("1990-04-17" in value or "17/04/1990" in value for value in stored)


@pytest.mark.django_db
def test_it_refuses_anyone_under_16_with_a_clear_message(client):
    response = client.post(
        reverse("account_signup"),
        _signup_data(date_of_birth=_years_ago_plus_days(16, 1).isoformat()),
    )
    assert response.status_code == 200
    assert "at least 16 years old" in response.content.decode()
    assert not User.objects.exists() and not Client.objects.exists()


@pytest.mark.django_db
def test_a_person_who_turns_16_today_may_sign_up(client):
    client.post(
        reverse("account_signup"),
        _signup_data(date_of_birth=_years_ago_plus_days(16, 0).isoformat()),
    )
    assert User.objects.filter(email="nora@northwind.example").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("date_of_birth", "message"),
    [
        ("not-a-date", "YYYY-MM-DD"),
        ("2999-01-01", "cannot be in the future"),
        ("", "This field is required"),
    ],
)
def test_a_bad_birth_date_is_refused_with_a_clear_message(client, date_of_birth, message):
    response = client.post(reverse("account_signup"), _signup_data(date_of_birth=date_of_birth))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Client.objects.exists()


@pytest.mark.django_db
def test_a_duplicate_email_creates_nothing_and_tells_the_owner(client, personas):
    """allauth's enumeration protection: the page does not reveal that the address has an
    account; the address's owner is told by email instead."""
    response = client.post(
        reverse("account_signup"), _signup_data(email="ALICE@acme.example"), follow=True
    )

    assert response.status_code == 200
    assert User.objects.filter(email="alice@acme.example").count() == 1
    assert not Client.objects.filter(name="Northwind Traders").exists()
    notice = OutboundMessage.objects.get(to_email="alice@acme.example")
    assert "already" in (notice.subject + notice.body_text).lower()


@pytest.mark.django_db
def test_missing_company_name_is_refused(client):
    response = client.post(reverse("account_signup"), _signup_data(company_name=""))
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.django_db
def test_two_companies_with_the_same_name_get_distinct_slugs(client):
    client.post(reverse("account_signup"), _signup_data())
    client.logout()
    client.post(reverse("account_signup"), _signup_data(email="other@northwind.example"))
    assert sorted(Client.objects.values_list("slug", flat=True)) == [
        "northwind-traders",
        "northwind-traders-2",
    ]
