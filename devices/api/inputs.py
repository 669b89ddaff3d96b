"""Input the whole API refuses before any operation body runs (after the auth).

A NUL character (U+0000) in a query parameter, a form field or a JSON string: PostgreSQL
cannot store it in a text column, so it would otherwise surface as a 500 from whichever
operation wrote it. Refused here for every operation, with Django forms' own message, as a
validation error (422) naming the field. File uploads are bytes and keep their NULs."""

from __future__ import annotations

import json
from functools import wraps

from django.http.multipartparser import MultiPartParserError
from django.http.request import RawPostDataException

from .errors import ApiError

MESSAGE = "Null characters are not allowed."  # Django's ProhibitNullCharactersValidator's


def _in_json(value, path: tuple) -> tuple | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return (*path, key.replace("\x00", ""))
            found = _in_json(item, (*path, key))
            if found is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _in_json(item, (*path, str(i)))
            if found is not None:
                return found
    return None


def null_character_field(request) -> str | None:
    """Where the request carries a NUL character ("request" when it is not in a field), or
    None."""
    for key, values in request.GET.lists():
        if "\x00" in key or any("\x00" in v for v in values):
            return key.replace("\x00", "") or "request"
    if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        try:
            fields = list(request.POST.lists())  # files apart: bytes keep their NULs
        except MultiPartParserError:
            fields = []  # not a form after all: a JSON operation reads the body below
        for key, values in fields:
            if "\x00" in key or any("\x00" in v for v in values):
                return key.replace("\x00", "") or "request"
    try:
        body = request.body
    except RawPostDataException:
        return None  # a form read as a stream (an upload): its fields were checked above
    # A JSON body (the operations parse any body but a form as JSON). A NUL in JSON text is
    # the escape \u0000 (a raw one is invalid JSON): parsed here only when the escape is there.
    if b"\\u0000" in body:
        try:
            found = _in_json(json.loads(body), ())
        except ValueError:
            return None  # invalid JSON: the operation's parser answers that
        if found is not None:
            return ".".join(found) or "request"
    return None


def refuse_null_characters(view):
    """An operation decorator (NinjaAPI.add_decorator): runs after the auth and the schema's
    validation, before the operation's body; a NUL is a validation error (422)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        field = null_character_field(request)
        if field is not None:
            message = MESSAGE if field == "request" else f"{field}: {MESSAGE}"
            raise ApiError(422, "validation", message, fields={field: [MESSAGE]})
        return view(request, *args, **kwargs)

    return wrapper
