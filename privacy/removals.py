"""Removal requests answered by another app: the registry of what staff can remove.

A PrivacyRequest of kind REMOVAL names what should go (`removal_target`). Testimonials and
referral data are privacy's and accounts' own (privacy.services); forum posts and blog comments
belong to the website app, which sits above privacy: privacy must not import it. So the app
registers its answer here in its AppConfig.ready(): the title of the staff action, the form in
which staff pick what to remove (by link or id) and the handler that removes it and completes
the request. The privacy request admin offers the action for a confirmed, open request of that
target; refusing stays the request's own "Refuse" action, whose reason is mailed.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms

ACTION = "remove_content"


@dataclass(frozen=True)
class Removal:
    target: str  # PrivacyRequest.RemovalTarget value
    title: str  # the staff action's title
    form_class: type[forms.Form]
    # handler(request=PrivacyRequest, data=form.cleaned_data, actor=staff) -> PrivacyRequest:
    # removes what the form found and completes the request, or raises ValidationError.
    handler: Callable


_registry: dict[str, Removal] = {}


def register(target: str, title: str, form_class: type[forms.Form], handler: Callable) -> None:
    from .models import PrivacyRequest

    if target not in PrivacyRequest.RemovalTarget.values:
        raise ValueError(f"{target!r} is not a removal target")
    if target in _registry:
        raise ValueError(f"the removal target {target!r} is registered twice")
    _registry[target] = Removal(target, title, form_class, handler)


def for_target(target: str) -> Removal | None:
    return _registry.get(target)
