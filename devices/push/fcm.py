"""Firebase Cloud Messaging, HTTP v1 API: our own small client.

One POST per message to {FCM_URL}/v1/projects/{FCM_PROJECT_ID}/messages:send, authorised by an
OAuth access token that google-auth gets for the service account in FCM_CREDENTIALS_FILE
(scope firebase.messaging). The answer is sorted into the four outcomes of push.base.

Why not a library:
- fcm-django brings its own device model (FCMDevice) and deactivates rows of it; our devices
  are devices.Device, with their own rules (one active per user, tokens owned once, revocation
  audited), and a dead token clears that device's token through devices.services.
- firebase-admin hard-wires the FCM endpoint (it cannot be pointed at a local server, which
  the tests need: a real HTTP server on loopback speaking FCM's format) and its transport
  retries 500 and 503 but not 429, nor honours Retry-After there.
So we keep the little that matters: what is a dead token is fcm-django's (3.x) classification,
copied: UNREGISTERED (404), SENDER_ID_MISMATCH (403), and INVALID_ARGUMENT (400) only when the
error's google.rpc.BadRequest names `message.token`. Any other 400 is about the payload: a
healthy token is not switched off because of a bad notification.

Retries are not done here but by the Celery task (push.base.retry_delay, honouring the
Retry-After this module reads): a worker never sleeps in a loop on a busy service.
"""

from __future__ import annotations

import datetime
import email.utils
import logging
import threading

import requests
from django.core.exceptions import ImproperlyConfigured
from google.auth import exceptions as auth_exceptions
from google.auth.transport.requests import Request as AuthRequest
from google.oauth2 import service_account

from .base import Message, Outcome, Result

logger = logging.getLogger("opsx.push")

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
# (connect, read) seconds: a slow push service holds a worker, never a request.
TIMEOUT = (5, 10)
TEMPORARY_STATUSES = frozenset({429, 500, 502, 503, 504})

_FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


class FCMBackend:
    """One per process (push.get_backend caches it): the credentials and their access token
    are reused until the token expires, over one HTTP session (kept-alive connections)."""

    def __init__(self, *, project_id: str, credentials_file: str, url: str):
        if not project_id or not credentials_file:
            raise ImproperlyConfigured(
                "PUSH_BACKEND=fcm needs FCM_PROJECT_ID and FCM_CREDENTIALS_FILE (the service "
                "account's JSON key)."
            )
        try:
            self.credentials = service_account.Credentials.from_service_account_file(
                credentials_file, scopes=[SCOPE]
            )
        except (OSError, ValueError) as exc:
            raise ImproperlyConfigured(
                f"FCM_CREDENTIALS_FILE cannot be read as a service account key: {exc}"
            ) from exc
        self.endpoint = f"{url.rstrip('/')}/v1/projects/{project_id}/messages:send"
        self.session = requests.Session()
        self._lock = threading.Lock()  # one token refresh at a time (threaded workers)

    # --- the access token -----------------------------------------------------------

    def _access_token(self, *, renew: bool = False) -> str:
        with self._lock:
            if renew or not self.credentials.valid:
                self.credentials.refresh(AuthRequest(self.session))
            return self.credentials.token

    # --- sending ------------------------------------------------------------------------

    def send(self, message: Message) -> Result:
        """Send one message; never raises for what the service or the network does."""
        body = {
            "message": {
                "token": message.token,
                "notification": {"title": message.title, "body": message.body},
                "data": message.data,
            }
        }
        try:
            response = self._post(body, self._access_token())
            if response.status_code == 401:
                # The token expired early or was revoked: a new one, once.
                response = self._post(body, self._access_token(renew=True))
        except auth_exceptions.RefreshError as exc:
            # The token endpoint refused the key (revoked, wrong clock) unless it says it was
            # a passing failure: retrying a refused key only repeats the refusal.
            outcome = Outcome.TEMPORARY if getattr(exc, "retryable", False) else Outcome.REFUSED
            return Result(outcome, detail=f"OAuth token refused: {_short(exc)}")
        except (auth_exceptions.TransportError, requests.RequestException) as exc:
            # connection refused or reset, a timeout, DNS: the network, not the message
            return Result(Outcome.TEMPORARY, detail=f"{type(exc).__name__}: {_short(exc)}")
        return classify(response.status_code, response.headers, _json(response))

    def _post(self, body: dict, access_token: str) -> requests.Response:
        return self.session.post(
            self.endpoint,
            json=body,
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=TIMEOUT,
        )


def classify(status: int, headers, payload: dict) -> Result:
    """Sort FCM's answer (HTTP status, headers, JSON body) into an outcome."""
    if 200 <= status < 300:
        return Result(Outcome.SENT)
    error = payload.get("error") if isinstance(payload.get("error"), dict) else {}
    details = [d for d in error.get("details") or [] if isinstance(d, dict)]
    code = next((d.get("errorCode") for d in details if d.get("@type") == _FCM_ERROR), None)
    code = code or error.get("status") or ""
    detail = f"HTTP {status} {code}: {_short(error.get('message', ''))}".strip()
    if status in TEMPORARY_STATUSES:
        return Result(Outcome.TEMPORARY, retry_after=retry_after_seconds(headers), detail=detail)
    if (
        (status == 404 and code == "UNREGISTERED")
        or (status == 403 and code == "SENDER_ID_MISMATCH")
        or (status == 400 and code == "INVALID_ARGUMENT" and _about_the_token(details))
    ):
        return Result(Outcome.DEAD_TOKEN, detail=detail)
    # Any other 400 is about the payload; a 401 after a fresh token, a 403 other than the
    # sender (THIRD_PARTY_AUTH_ERROR: the APNs key), a 404 other than UNREGISTERED (a wrong
    # project id) are about our set-up. None of them says the token is dead.
    return Result(Outcome.REFUSED, detail=detail)


def _about_the_token(details: list[dict]) -> bool:
    for item in details:
        if item.get("@type") == _BAD_REQUEST:
            for violation in item.get("fieldViolations") or []:
                if isinstance(violation, dict) and violation.get("field") == "message.token":
                    return True
    return False


def retry_after_seconds(headers) -> float | None:
    """The Retry-After header in seconds: a number of seconds or an HTTP date (RFC 9110);
    None when absent or unreadable, 0 for a date already past."""
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(min(int(value), 10**9))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" in an HTTP date means UTC
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, (when - datetime.datetime.now(datetime.UTC)).total_seconds())


def _json(response: requests.Response) -> dict:
    try:
        payload = response.json()
    except ValueError:  # an HTML error page from a proxy, an empty body
        return {}
    return payload if isinstance(payload, dict) else {}


def _short(value) -> str:
    return " ".join(str(value).split())[:300]
