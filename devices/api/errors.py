"""One JSON shape for every error of the mobile API, with a message a person can read:

    {"error": {"code": "validation", "message": "...", "fields": {"name": ["..."]}}}

`fields` is there when the error is about fields of the request (validation, a conflict).
An error answer rolls back what the request wrote (ATOMIC_REQUESTS would commit it: the view
returned a response)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from pydantic import Field


class ApiError(Exception):
    """An answer other than success, raised anywhere under a view (or its auth)."""

    def __init__(
        self, status: int, code: str, message: str, *, fields: dict | None = None, extra=None
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.extra = extra or {}


class ErrorDetail(Schema):
    code: str = Field(description="What went wrong, for the app: e.g. validation, not_found.")
    message: str = Field(description="What went wrong, for a person to read.")
    fields: dict[str, list[str]] | None = Field(
        None, description="Messages per field of the request, when the error is about them."
    )
    server: dict[str, Any] | None = Field(
        None, description="A conflict: the server's values of the fields named in `fields`."
    )
    version: str | None = Field(None, description="A conflict: the server's current version.")


class ErrorOut(Schema):
    """The one shape of every error answer."""

    error: ErrorDetail


def error_body(code: str, message: str, fields: dict | None = None, **extra) -> dict:
    error = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    error.update(extra)
    return {"error": error}


def _location(loc) -> str:
    # pydantic's location: ("body", "payload", "name") -> "name"; ("query", "limit") -> "limit";
    # ("file", "file") -> "file" (only the first part says where: a field may be called "file")
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "form", "file", "cookie"):
        parts = parts[1:]
    if parts and parts[0] in ("payload", "data", "body"):
        parts = parts[1:]
    return ".".join(parts) or "request"


def _readable(error: dict) -> str:
    kind = error.get("type", "")
    if _location(error.get("loc", ())) == "request":  # the body as a whole
        if kind == "missing":
            return "This request needs a JSON object as its body."
        if kind in ("model_attributes_type", "model_type", "dict_type"):
            return "The request body must be a JSON object."
    if kind == "extra_forbidden":
        return "This field is not part of the request."
    if kind == "missing":
        return "This field is required."
    message = str(error.get("msg", "This value is not valid."))
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return message[:1].upper() + message[1:]


def _django_fields(exc: DjangoValidationError) -> tuple[str, dict | None]:
    if hasattr(exc, "error_dict"):
        fields = {
            k: [str(m) for m in DjangoValidationError(v).messages]
            for k, v in exc.error_dict.items()
        }
        first = next(iter(fields.values()), ["The request is not valid."])[0]
        return first, fields
    return " ".join(exc.messages), None


class JsonParser(Parser):
    """Request bodies are JSON, and say so. ninja wraps any parse failure into a bare 400
    "Cannot parse request body"; the ApiError raised here rides along as its cause and is
    answered instead (see _http_error)."""

    def parse_body(self, request):
        content_type = (request.content_type or "").lower()
        if content_type != "application/json" and not content_type.endswith("+json"):
            raise ApiError(
                415,
                "unsupported_media_type",
                "Send the request body as JSON, with the header Content-Type: application/json.",
            )
        try:
            return json.loads(request.body)
        except RecursionError:
            raise ApiError(400, "invalid_json", "The request body is nested too deeply.") from None
        except ValueError as exc:  # JSONDecodeError, bytes that are not UTF-8, huge integers
            if "integer string conversion" in str(exc):
                raise ApiError(
                    400, "invalid_json", "A number in the request body has too many digits."
                ) from None
            where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
            raise ApiError(
                400, "invalid_json", f"The request body is not valid JSON{where}."
            ) from None


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Any /api/v1/ address that is no operation (opsx/urls.py routes them here)."""
    return JsonResponse(
        error_body(
            "not_found", "There is no such address in the OpsX mobile API (see /api/v1/docs)."
        ),
        status=404,
    )


def install(api) -> None:
    """Register the handlers on the NinjaAPI `api`, and its JSON body parser."""
    api.parser = JsonParser()

    def answer(request, status, body):
        transaction.set_rollback(True) if transaction.get_connection().in_atomic_block else None
        return api.create_response(request, body, status=status)

    @api.exception_handler(ApiError)
    def _api_error(request, exc: ApiError):
        return answer(
            request, exc.status, error_body(exc.code, exc.message, exc.fields, **exc.extra)
        )

    @api.exception_handler(NinjaValidationError)
    def _invalid(request, exc: NinjaValidationError):
        fields: dict[str, list[str]] = {}
        for error in exc.errors:
            fields.setdefault(_location(error.get("loc", ())), []).append(_readable(error))
        name, messages = next(iter(fields.items()), ("request", ["The request is not valid."]))
        message = messages[0] if name == "request" else f"{name}: {messages[0]}"
        return answer(request, 422, error_body("validation", message, fields))

    @api.exception_handler(DjangoValidationError)
    def _service_refused(request, exc: DjangoValidationError):
        message, fields = _django_fields(exc)
        code = getattr(exc, "code", None) or "invalid"
        return answer(request, 400, error_body(code, message, fields))

    @api.exception_handler(Http404)
    def _not_found(request, exc):
        return answer(request, 404, error_body("not_found", "Nothing was found at this address."))

    @api.exception_handler(PermissionDenied)
    def _denied(request, exc):
        return answer(request, 403, error_body("forbidden", str(exc) or "You may not do this."))

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request, exc):
        return answer(
            request,
            401,
            error_body(
                "not_signed_in",
                "Sign in first: send the session token from /_allauth/app/v1/auth/login as "
                "X-Session-Token. A token ends when you sign out, change your password, or your "
                "device is revoked.",
            ),
        )

    @api.exception_handler(HttpError)
    def _http_error(request, exc: HttpError):
        if isinstance(exc.__cause__, ApiError):  # raised by JsonParser
            return _api_error(request, exc.__cause__)
        if str(exc).startswith("Cannot parse request body"):  # ninja's, for any body not JSON
            return answer(
                request,
                400,
                error_body(
                    "invalid_body",
                    "The request body is not JSON. Send JSON with Content-Type: "
                    "application/json (a photo: multipart/form-data).",
                ),
            )
        return answer(request, exc.status_code, error_body("http_error", str(exc)))

    @api.exception_handler(RequestDataTooBig)
    def _too_big(request, exc):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
        return answer(
            request,
            413,
            error_body("too_large", f"The request is too large: a body can be at most {limit} MB."),
        )

    @api.exception_handler(TooManyFieldsSent)
    @api.exception_handler(TooManyFilesSent)
    def _too_many(request, exc):
        return answer(
            request, 400, error_body("too_many_fields", "The request has too many fields.")
        )


# Answers any operation may give, whatever it declares itself: a service refusing (400), the
# auth (401, 403), a lookup (404) and the request's validation (422), all in the one shape.
COMMON_ERRORS = {
    400: "Refused: the message says why.",
    401: "Not signed in, or the session ended.",
    403: "Signed in, but not allowed (a device not registered, waiting or refused).",
    404: "Nothing was found at this address.",
    413: "The request body is too large.",
    415: "The request body is not JSON (or, for a photo, not multipart/form-data).",
    422: "The request is not valid: `fields` says which parts and why.",
}
_SIGNED_IN_ONLY = {401, 403}
_REF = "#/components/schemas/{model}"


def document(schema: dict) -> dict:
    """Add the error shape and COMMON_ERRORS to every operation of the OpenAPI document that
    does not declare them itself, so that the document tells the truth about every answer
    (schemathesis checks it) without each endpoint repeating them."""
    definition = ErrorOut.model_json_schema(ref_template=_REF)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(definition.pop("$defs", {}))
    components.setdefault("ErrorOut", definition)
    content = {"application/json": {"schema": {"$ref": _REF.format(model="ErrorOut")}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in COMMON_ERRORS.items():
                if status in _SIGNED_IN_ONLY and not operation.get("security"):
                    continue
                if str(status) not in responses and status not in responses:
                    responses[str(status)] = {"description": description, "content": content}
    return schema
