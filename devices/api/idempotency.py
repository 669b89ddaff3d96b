"""`Idempotency-Key` on the mobile API's writes: a retry after a lost answer gets the first
answer again and changes nothing.

A write that carries the header is run once per (user, key): its answer (status and JSON body)
is kept in an IdempotencyRecord in the same transaction, and the same key again with the same
request (method, path and a hash of the body) is answered from the record without running the
operation. The same key with another request is refused (422). Two identical requests at the
same moment queue on a transaction-level advisory lock on (user, key): the second one waits
for the first to commit and then finds its record.

What is kept: success, and refusals of the operation (400, 403, 404, 413, 415, 422 raised by
it), each with what it wrote rolled back. Not kept: a conflict (409; the client is expected
to look at the server's values and send a new request), a server error (5xx: a retry should
run again), and a request refused before the operation ran (its body or parameters do not
validate, 422; authentication, 401/403): as Stripe does, such a request did not use the key,
and the corrected request may carry it.

The header is optional: a write without one runs as usual (a client-generated id still keeps
a create from happening twice)."""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from functools import wraps
from typing import Annotated

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from ninja import Header, Status
from ninja.operation import ResponseObject
from pydantic import WithJsonSchema

from ..models import IdempotencyRecord
from ..services import advisory_lock
from .errors import ApiError

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
# Printable ASCII: what a header value carries safely (a UUID, a ULID, "sync-123-4").
_KEY = re.compile(rf"[\x20-\x7e]{{1,{MAX_KEY_LENGTH}}}")
NOT_KEPT = {409}  # and every status from 500 up

# What the document says a key is; the check itself is _checked() (a 400, not pydantic's 422).
KeyHeader = Annotated[
    str | None,
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[ -~]+$"}
    ),
]
_DESCRIPTION = (
    "Any text of 1 to 200 printable ASCII characters, new for each distinct write (a UUID is "
    "a good choice). A retry with the same key and the same request gets the first answer "
    "(status and body) again without running the write; the same key with another request "
    "is refused (422). Answers are kept for the days in API_IDEMPOTENCY_DAYS."
)


def idempotent(view):
    """Make a write operation honour `Idempotency-Key`. Put it under `scoped` (the record is
    the client's data, read and written under its row-level security)."""
    operations = []  # the operation ninja builds for the view (for its answer schemas)

    @wraps(view)
    def wrapper(request, *args, idempotency_key: str | None = None, **kwargs):
        if idempotency_key is None:
            return view(request, *args, **kwargs)
        key = _checked(idempotency_key)
        fingerprint = _fingerprint(request)
        user = request.auth
        advisory_lock(f"idempotency:{user.pk}:{key}")
        record = (
            IdempotencyRecord.objects.for_client(request.client).filter(user=user, key=key).first()
        )
        if record is not None and record.created_at < _kept_since():
            record.delete()  # past its days (and not swept yet): the key is free again
            record = None
        if record is not None:
            if record.fingerprint != fingerprint:
                raise ApiError(
                    422,
                    "idempotency_key_reused",
                    "This Idempotency-Key was already used for a different request (another "
                    "method, address or body). Use a new key for each new write.",
                    fields={"Idempotency-Key": ["Already used for a different request."]},
                )
            if record.status_code == 204:
                response = HttpResponse(status=204)
            else:
                response = _api().create_response(request, record.body, status=record.status_code)
            response["Idempotent-Replayed"] = "true"
            return response
        response = _run(operations[0], view, request, args, kwargs)
        if response.status_code < 500 and response.status_code not in NOT_KEPT:
            IdempotencyRecord.objects.create(
                client=request.client,
                user=user,
                key=key,
                fingerprint=fingerprint,
                status_code=response.status_code,
                body=json.loads(response.content) if response.content else {},
            )
        return response

    # ninja reads these: the header as a parameter of the operation (so the OpenAPI document
    # shows it), and the operation itself once built.
    wrapper._ninja_contribute_args = [
        *getattr(view, "_ninja_contribute_args", []),
        ("idempotency_key", KeyHeader, Header(None, alias=HEADER, description=_DESCRIPTION)),
    ]
    wrapper._ninja_contribute_to_operation = [
        *getattr(view, "_ninja_contribute_to_operation", []),
        operations.append,
    ]
    return wrapper


def _kept_since():
    return timezone.now() - datetime.timedelta(days=settings.API_IDEMPOTENCY_DAYS)


def _api():
    from . import api  # the package imports the routers, which import this module

    return api


def _checked(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ApiError(
            400,
            "idempotency_key_invalid",
            f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable ASCII characters "
            "(letters, digits, punctuation, spaces), e.g. a UUID.",
            fields={HEADER: ["1 to 200 printable ASCII characters."]},
        )
    return key


def _fingerprint(request) -> str:
    """What the request asks, as a hash: method, path and body. A multipart body is hashed by
    its parts, not its bytes: a retried upload gets a new random boundary."""
    digest = hashlib.sha256()
    digest.update(f"{request.method}\n{request.path}\n".encode())
    if request.content_type == "multipart/form-data":
        for name, values in sorted(request.POST.lists()):
            digest.update(json.dumps([name, values]).encode())
        for name, uploads in sorted(request.FILES.lists()):
            for upload in uploads:
                content = hashlib.sha256()
                for chunk in upload.chunks():
                    content.update(chunk)
                upload.seek(0)
                digest.update(json.dumps([name, upload.name, content.hexdigest()]).encode())
    else:
        digest.update(hashlib.sha256(request.body).digest())
    return digest.hexdigest()


def _run(operation, view, request, args, kwargs):
    """The operation's answer as a response, what it wrote rolled back when it refused.

    The refusal is turned into its answer here, by the API's own handlers (errors.py), inside
    a savepoint of its own: their rollback then undoes the operation's writes and not the
    record kept of the answer."""
    try:
        with transaction.atomic():
            result = view(request, *args, **kwargs)
    except Exception as exc:
        with transaction.atomic():
            return _api().on_exception(request, exc)  # unhandled (a bug): raised again, a 500
    return _response(operation, request, result)


def _response(operation, request, result):
    """What ninja makes of a view's result (Operation._result_to_response): the answer
    validated against the operation's schema for its status, then rendered."""
    status = next(iter(operation.response_models)) if len(operation.response_models) == 1 else 200
    if isinstance(result, Status):
        status, result = result.status_code, result.value
    model = operation.response_models[status]
    context = {"request": request, "response_status": status}
    if model is None:
        data = None
    else:
        data = model.model_validate(ResponseObject(result), context=context).model_dump(
            context=context
        )["response"]
    return _api().create_response(request, data, status=status)
