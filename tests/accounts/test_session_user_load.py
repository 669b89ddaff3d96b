"""The session's user is read with its client in one statement made once from the models
(accounts/backends.py), into the same instances the ORM's select_related would give."""

import pytest

from accounts.backends import AllauthBackend
from accounts.models import User
from clients.models import Client
from tests.factories import StaffFactory


def _values(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


@pytest.mark.django_db
def test_a_user_and_its_client_load_in_one_query_as_the_orm_reads_them(
    personas, django_assert_num_queries
):
    with django_assert_num_queries(1):
        user = AllauthBackend().get_user(personas.bob.pk)
        client = user.client  # cached with the user: no second query
    orm = User.objects.select_related("client").get(pk=personas.bob.pk)
    assert _values(user) == _values(orm)
    assert _values(client) == _values(orm.client) == _values(Client.objects.get(name="Acme"))
    assert not user._state.adding and user._state.db == "default"
    user.full_name = "Robert Member"  # a loaded instance saves like any other
    user.save(update_fields=["full_name"])
    assert User.objects.get(pk=user.pk).full_name == "Robert Member"


@pytest.mark.django_db
def test_staff_have_no_client_and_unknown_or_deactivated_users_are_nobody(
    personas, django_assert_num_queries
):
    staff = StaffFactory(email="sam@hexcm.example")
    with django_assert_num_queries(1):
        assert AllauthBackend().get_user(staff.pk).client is None
    assert AllauthBackend().get_user(0) is None
    User.objects.filter(pk=personas.bob.pk).update(is_active=False)
    assert AllauthBackend().get_user(personas.bob.pk) is None
