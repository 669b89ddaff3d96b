"""The list page's filter choices (custom-field definitions, active users) come from a
per-client cache (clients/cache.py); every service that changes them empties it on commit."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services as account_services
from prospects import services
from tests.factories import InvitationFactory, UserFactory

LIST = reverse("prospects:list")


def _statements(client) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(LIST).status_code == 200
    return [q["sql"] for q in queries.captured_queries]


def _reads_choices(statements: list[str]) -> tuple[bool, bool]:
    definitions = any('FROM "prospects_customfield"' in sql for sql in statements)
    # the active users' filter (the signed-in user's own load selects is_active too)
    users = any('AND "accounts_user"."is_active"' in sql for sql in statements)
    return definitions, users


def _owner_options(client) -> str:
    html = client.get(LIST).content.decode()
    return html[html.index('name="owner" aria-label="Owner"') :].split("</select>")[0]


@pytest.mark.django_db
def test_the_list_reads_its_filter_choices_once_then_from_the_cache_of_its_client(client, personas):
    services.custom_field_create(
        client=personas.client_a, actor=personas.alice, key="region", label="Region",
        kind="text", choices=[], required=False,
    )  # fmt: skip
    client.force_login(personas.bob)
    assert _reads_choices(_statements(client)) == (True, True)
    assert _reads_choices(_statements(client)) == (False, False)
    assert "Region" in client.get(LIST).content.decode()

    client.force_login(personas.dan)  # another client: its own entries, not Acme's
    assert _reads_choices(_statements(client)) == (True, True)
    options = _owner_options(client)
    assert "Dan Member" in options and "Bob Member" not in options
    assert "Region" not in client.get(LIST).content.decode()


@pytest.mark.django_db
def test_a_custom_field_added_or_removed_shows_on_the_next_page(
    client, personas, django_capture_on_commit_callbacks
):
    option = '<option value="region">Sales region</option>'
    client.force_login(personas.alice)
    assert option not in client.get(LIST).content.decode()  # cached: no field
    form = {"label": "Sales region", "key": "region", "kind": "text", "choices": ""}
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("prospects:custom_fields"), form).status_code == 302
    assert option in client.get(LIST).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("prospects:custom_field_delete", args=["region"]))
    assert option not in client.get(LIST).content.decode()


@pytest.mark.django_db
def test_the_owner_filter_follows_every_change_of_a_clients_users(
    client, personas, django_capture_on_commit_callbacks
):
    client.force_login(personas.alice)
    bob = f'<option value="{personas.bob.public_id}">'
    assert bob + "Bob Member</option>" in _owner_options(client)

    def change(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    change(
        account_services.user_update_name,
        user=personas.bob,
        full_name="Robert Member",
        acting_user=personas.bob,
    )
    assert bob + "Robert Member</option>" in _owner_options(client)

    change(account_services.user_deactivate, target=personas.bob, acting_user=personas.alice)
    assert bob not in _owner_options(client)
    change(account_services.user_reactivate, target=personas.bob, acting_user=personas.alice)
    assert bob in _owner_options(client)

    # a user without a name is shown by email: allauth switches it, the service records it
    nameless = UserFactory(client=personas.client_a, full_name="", email="old@acme.example")
    change(account_services.user_reactivate, target=nameless, acting_user=personas.alice)
    assert "old@acme.example" in _owner_options(client)
    nameless.email = "new@acme.example"
    nameless.save(update_fields=["email"])
    change(
        account_services.user_record_email_change,
        user=nameless,
        old_email="old@acme.example",
        new_email="new@acme.example",
    )
    options = _owner_options(client)
    assert "new@acme.example" in options and "old@acme.example" not in options

    invitation = InvitationFactory(client=personas.client_a, invited_by=personas.alice)
    change(
        account_services.invitation_accept,
        invitation=invitation,
        full_name="Nina New",
        password="a long enough password 42",
    )
    assert "Nina New" in _owner_options(client)


@pytest.mark.django_db
def test_a_change_that_rolls_back_leaves_the_cached_choices_in_place(
    client, personas, django_capture_on_commit_callbacks
):
    """The key is deleted when the change commits: one rolled back forgets nothing."""
    client.force_login(personas.alice)
    _statements(client)  # fills the cache
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        account_services.user_update_name(
            user=personas.bob, full_name="Robert Member", acting_user=personas.bob
        )
        raise RuntimeError("the rest of the transaction failed")
    assert callbacks == []
    assert _reads_choices(_statements(client)) == (False, False)
    assert "Bob Member" in _owner_options(client)
