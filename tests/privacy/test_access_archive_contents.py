"""The access archive holds every registered holding's data about the user, and nobody
else's; its page escapes what people wrote; its queries do not grow with the rows."""

import pytest
from django.utils.html import escape

from opsx.personal_data import holdings
from privacy import archive as service
from privacy.models import AccessArchive, PrivacyRequest
from tests.factories import ProspectFactory

from .archive_objects import OLD_ADDRESS, build_for, data_everywhere, open_zip


@pytest.fixture
def bob_everywhere(personas):
    personas.bob.full_name = "<script>alert(1)</script>"
    personas.bob.save(update_fields=["full_name"])
    ids = data_everywhere(personas.bob, admin=personas.alice, label="A")
    data_everywhere(personas.dan, admin=personas.carol, label="B")  # a bystander elsewhere
    return ids


@pytest.mark.django_db
def test_the_archive_has_every_registered_holdings_rows_about_the_user(
    personas, bob_everywhere, django_capture_on_commit_callbacks
):
    archive = build_for(personas.bob, django_capture_on_commit_callbacks)
    assert archive.status == AccessArchive.Status.READY
    data, html = open_zip(archive)
    sections = data["sections"]
    empty = []
    for holding in holdings():  # a holding added later without data here fails this test
        assert holding.title in sections, holding.model
        assert escape(holding.title) in html, holding.model
        section = sections[holding.title]
        assert section["model"] == holding.model
        if not section["rows"]:
            empty.append(holding.model)
        for row in section["rows"]:
            assert set(holding.export) <= set(row), holding.model
    assert not empty, f"no rows about the user in: {empty} (give the test user data there)"
    for label, public_id in bob_everywhere.items():
        title = next(h.title for h in holdings() if h.model == label)
        assert public_id in str(sections[title]["rows"]), (label, public_id)
    assert data["about"]["user"] == str(personas.bob.public_id)
    assert OLD_ADDRESS in data["about"]["addresses"]
    support = sections[service.SUPPORT_VIEWS_TITLE]["rows"]
    assert [row["path"] for row in support] == ["/app/A/seen/"]


@pytest.mark.django_db
def test_keys_read_as_you_or_a_public_id_and_times_in_iso_8601(
    personas, bob_everywhere, django_capture_on_commit_callbacks
):
    archive = build_for(personas.bob, django_capture_on_commit_callbacks)
    data, _ = open_zip(archive)
    sections = data["sections"]
    (account,) = sections["Your account"]["rows"]
    assert account["email"] == personas.bob.email
    assert account["date_joined"] == personas.bob.date_joined.isoformat()
    prospect = next(
        r
        for r in sections["Prospects you own, created or last changed"]["rows"]
        if r["public_id"] == bob_everywhere["prospects.Prospect"]
    )
    assert sorted(prospect["concerns_you_as"]) == ["created_by", "owner"]
    (mail,) = [
        r for r in sections["Emails we sent you"]["rows"] if r["subject"] == "Welcome A"
    ]  # sent to their former address, stored in capitals
    assert mail["category"] == "account"
    (request,) = sections["Your privacy requests"]["rows"]
    assert request["kind"] == PrivacyRequest.Kind.ACCESS
    assert request["concerns_you_as"] == ["requester", "requester_email"]


@pytest.mark.django_db
def test_another_users_data_is_not_in_the_archive(
    personas, bob_everywhere, django_capture_on_commit_callbacks
):
    alice_prospect = ProspectFactory(client=personas.client_a, owner=personas.alice)
    archive = build_for(personas.bob, django_capture_on_commit_callbacks)
    data, _ = open_zip(archive)
    text = service.archive_render_json(data)
    for outsider in (personas.dan, personas.carol, personas.alice):
        assert outsider.email not in text
        assert str(outsider.public_id) not in text
    assert str(personas.dan.client.public_id) not in text
    assert str(alice_prospect.public_id) not in text
    assert "Entry B" not in text and "/app/B/" not in text and "Look B" not in text


@pytest.mark.django_db
def test_the_page_escapes_hostile_text_and_loads_nothing_from_outside(
    personas, bob_everywhere, django_capture_on_commit_callbacks
):
    archive = build_for(personas.bob, django_capture_on_commit_callbacks)
    data, html = open_zip(archive)
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert data["sections"]["Your account"]["rows"][0]["full_name"] == ("<script>alert(1)</script>")
    for outside in ("src=", "http://", "https://", "<link", "@import"):
        assert outside not in html.lower(), outside


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [1, 30])
def test_reading_the_archive_data_takes_the_same_queries_for_1_or_30_rows(
    personas, django_assert_max_num_queries, rows
):
    from clients import audit

    bob = personas.bob
    for _ in range(rows):
        prospect = ProspectFactory(client=personas.client_a, owner=bob, created_by=bob)
        audit.record(actor=bob, action=audit.Action.PROSPECT_CREATED, target=prospect)
    # 2 for the addresses (allauth's, the revisions), 1 per holding, 1 for support's page
    # views, 1 for the client's name, 2 to enter and leave the client's scope
    with django_assert_max_num_queries(len(holdings()) + 6):
        data = service.archive_data(bob)
    owned = data["sections"]["Prospects you own, created or last changed"]["rows"]
    assert len(owned) == rows
    assert len(data["sections"]["Things you did in OpsX (audit trail)"]["rows"]) == rows


@pytest.mark.django_db
def test_client_data_is_read_within_the_users_client_only(personas, monkeypatch):
    """The Client Data holdings are read under row-level security for the user's client: a
    row of another client that names the user (here: an invitation to their address) stays
    that client's."""
    from accounts.models import Invitation

    Invitation.objects.create(
        client=personas.client_b, email=personas.bob.email, invited_by=personas.carol
    )
    data = service.archive_data(personas.bob)
    assert data["sections"]["Invitations"]["rows"] == []
    assert data["sections"]["Invitations"]["client_data"] is True
