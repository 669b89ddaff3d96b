"""Shared by the erasure tests: a privacy request as the request workflow files it."""

from django.utils import timezone

from privacy.models import PrivacyRequest
from privacy.services import due_for


def file_request(*, kind=PrivacyRequest.Kind.DELETION, requester=None, **fields) -> PrivacyRequest:
    now = timezone.now()
    values = {
        "channel": PrivacyRequest.Channel.ACCOUNT,
        "requester": requester,
        "requester_email": requester.email if requester else "",
        "received_at": now,
        "due_at": due_for(kind, now),
        **fields,
    }
    return PrivacyRequest.objects.create(kind=kind, **values)
