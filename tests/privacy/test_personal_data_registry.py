"""Every model that can hold a person's data is in the personal data registry (or named as
holding nobody's, with a reason), so the access archive and erasure cannot forget it."""

import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from opsx.personal_data import NOT_PERSONAL, holdings

# Models the walk must find: if it found none of these, it would pass without checking.
KNOWN = {
    "accounts.User",
    "accounts.ProfileRevision",
    "accounts.Invitation",
    "account.EmailAddress",
    "usersessions.UserSession",
    "clients.AuditEvent",
    "opsx.OutboundMessage",
    "prospects.Prospect",
    "privacy.PrivacyRequest",
    "privacy.SupportGrant",
}


def _user_keys(model) -> list[str]:
    return [
        f.name
        for f in model._meta.concrete_fields
        if f.is_relation
        and (f.many_to_one or f.one_to_one)
        and f.related_model._meta.label == settings.AUTH_USER_MODEL
    ]


def _email_fields(model) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if isinstance(f, models.EmailField)]


def _personal_models(all_models) -> dict[str, object]:
    """Models with a key to the user model or an email field, by label."""
    return {
        m._meta.label: m
        for m in all_models
        if not m._meta.abstract and (_user_keys(m) or _email_fields(m))
    }


def _unregistered(all_models) -> list[str]:
    registered = {h.model for h in holdings()}
    return sorted(
        label
        for label in _personal_models(all_models)
        if label not in registered and label not in NOT_PERSONAL
    )


def test_the_walk_finds_the_models_known_to_hold_personal_data():
    found = set(_personal_models(apps.get_models()))
    assert found >= KNOWN, KNOWN - found


def test_every_model_with_a_user_key_or_an_email_field_is_registered():
    missing = _unregistered(apps.get_models())
    assert not missing, (
        "These models hold a user key or an email field but are in no personal data registry: "
        f"{missing}. Add a Holding in their app's personal_data.py, or name them in "
        "NOT_PERSONAL (opsx.personal_data.not_personal) with the reason."
    )


def test_a_new_model_with_a_user_key_and_no_entry_fails_the_walk():
    class Scribble(models.Model):  # noqa: DJ008 (a throwaway model nobody registered)
        author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)

        class Meta:
            app_label = "privacy"

    try:
        assert _unregistered([*apps.get_models(), Scribble]) == ["privacy.Scribble"]
    finally:
        # forget it again, so no other test sees it
        del apps.all_models["privacy"]["scribble"]
        apps.clear_cache()


def test_a_model_named_not_personal_has_a_reason():
    for label, reason in NOT_PERSONAL.items():
        assert reason.strip(), label


@pytest.mark.parametrize("holding", holdings(), ids=lambda h: h.model)
def test_every_holdings_fields_exist_on_its_model(holding):
    model = apps.get_model(holding.model)
    for name in (*holding.user_fields, *holding.email_fields, *holding.export):
        try:
            model._meta.get_field(name)
        except FieldDoesNotExist:
            pytest.fail(f"{holding.model} has no field {name!r} (named in its Holding)")
    for name in holding.email_fields:
        assert isinstance(model._meta.get_field(name), models.EmailField), (holding.model, name)
    assert holding.title, f"{holding.model}: a Holding needs the title its archive section shows"
    assert holding.export or holding.note, f"{holding.model}: nothing exported and no note why"


@pytest.mark.parametrize("holding", holdings(), ids=lambda h: h.model)
def test_every_key_to_the_user_is_named_in_its_holding(holding):
    """A user key the holding forgets would be missed by the archive and by erasure."""
    model = apps.get_model(holding.model)
    forgotten = set(_user_keys(model)) - set(holding.user_fields)
    assert not forgotten, f"{holding.model}: user keys {sorted(forgotten)} not in user_fields"
