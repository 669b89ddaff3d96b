"""The access log: one JSON line per request, holding the fields of FIELDS and nothing else.

FIELDS is the one list: the middleware writes exactly its keys (``_only_fields`` refuses
anything else) and the privacy page lists them with their descriptions, so what the policy
says the server logs hold and what they hold cannot drift apart.

What is left out on purpose: the query string (search words, filters and, in a bare ``?x``, a
value where a name would be), the secret part of emailed links (invitation, confirmation,
unsubscribe and password reset links carry their token in the path), the cookie values, the
user agent, the referrer and the user's email.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from datetime import UTC, datetime

import structlog
from django.conf import settings
from django.urls import Resolver404, resolve

from opsx.http import client_ip

LOGGER_NAME = "opsx.access"

# Every key of a line, in the order written, with what the privacy page says of it.
FIELDS: dict[str, str] = {
    "time": "When the request arrived (UTC).",
    "ip": "The internet address the request came from.",
    "session_cookie": (
        "Whether your browser sent a sign-in session cookie: yes or no, never the cookie itself."
    ),
    "user_id": "Your account's number if you are signed in; empty for visitors.",
    "client_id": (
        "The number of the company whose OpsX account you use, if you are signed in; empty "
        "for visitors."
    ),
    "method": "The kind of request (GET to read a page, POST to send a form).",
    "path": (
        "The address of the page, without anything after a question mark (search words, "
        "filters) and without the secret part of a link we emailed you."
    ),
    "status": "Our answer's code (200 for a page shown, 404 for a page not found).",
    "duration_ms": "How long we took to answer, in milliseconds.",
    "request_id": (
        "A random reference for the request, sent back with our answer, to find its line again "
        "when you report a problem."
    ),
}

# The URL parameters holding a secret: emailed links' tokens (ours are all named `token`) and
# allauth's email confirmation and password reset keys. Their value is replaced by the name.
SECRET_URL_KWARGS = frozenset({"token", "key", "uidb36"})

# A caller's (our proxy's) X-Request-ID is kept only if it is plainly an id: nginx's
# $request_id (32 hex digits), a UUID, a ULID. Anything else gets a new id of ours.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

# Bounds a line: gunicorn refuses longer request lines anyway, runserver may not.
MAX_PATH = 1024
MAX_METHOD = 16


def _only_fields(logger, method_name, event_dict):
    """The last word before rendering: exactly FIELDS' keys, in their order (a missing key is
    a KeyError in the tests, never a silently different line)."""
    return {key: event_dict[key] for key in FIELDS}


_log = structlog.wrap_logger(
    logging.getLogger(LOGGER_NAME),
    processors=[_only_fields, structlog.processors.JSONRenderer()],
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)


def request_id_for(request) -> str:
    """The incoming X-Request-ID when it looks like an id, else a new random one."""
    incoming = request.META.get("HTTP_X_REQUEST_ID", "")
    if _SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def logged_path(request) -> str:
    """The path without its query string, a secret URL parameter replaced by its name."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    if match is None:  # a middleware answered before the URL was resolved, or a 404
        try:
            match = resolve(request.path_info)
        except Resolver404:
            match = None
    if match is not None:
        for name, value in match.kwargs.items():
            if name in SECRET_URL_KWARGS and value:
                path = path.replace(str(value), f"<{name}>")
    return path[:MAX_PATH]


def _ids(request) -> tuple[object, object]:
    """(user id, client id) of the signed-in user, (None, None) for a visitor or a response
    given before AuthenticationMiddleware ran (a static file, an HTTPS redirect)."""
    user = getattr(request, "user", None)
    try:
        if user is None or not user.is_authenticated:
            return None, None
    except Exception:  # the session store unreachable: the line is still written
        return None, None
    return user.pk, getattr(user, "client_id", None)


class AccessLogMiddleware:
    """Writes one access log line per request and answers with its X-Request-ID.

    First in MIDDLEWARE: it times the whole stack and sees the final status. An exception
    raised further in has already become a 500 response by the time it gets here (Django
    converts it around each middleware), so it is one line with status 500. A streamed
    response's duration ends when its body starts.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        arrived = datetime.now(UTC)
        started = time.perf_counter()
        request_id = request_id_for(request)
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        response["X-Request-ID"] = request_id
        user_id, client_id = _ids(request)
        _log.info(
            "request",
            time=arrived.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            ip=client_ip(request),
            session_cookie=settings.SESSION_COOKIE_NAME in request.COOKIES,
            user_id=user_id,
            client_id=client_id,
            method=request.method[:MAX_METHOD],
            path=logged_path(request),
            status=response.status_code,
            duration_ms=duration_ms,
            request_id=request_id,
        )
        return response
