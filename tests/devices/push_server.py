"""A small real FCM on loopback: Google's OAuth token endpoint and the HTTP v1 messages:send,
speaking their formats, with the answers to sends scripted by each test.

The token endpoint checks the service account's signed assertion (RS256, with the key the
test wrote to the service-account file) and the firebase.messaging scope; messages:send
checks the bearer token it issued. Nothing is mocked: the backend talks HTTP to this server.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt

from devices.models import Device

PROJECT = "opsx-test"
GOOGLE_TOKEN = "https://oauth2.googleapis.com/token"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


@cache
def rsa_key() -> tuple[str, str]:
    """A service account's key pair (private PEM, public PEM), made once per run."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def fcm_error(http: int, status: str, message: str, *, code: str = "", fields=()) -> tuple:
    """A scripted FCM error reply: (HTTP status, JSON body, headers) as FCM sends them."""
    details = []
    if code:
        details.append({"@type": FCM_ERROR, "errorCode": code})
    if fields:
        details.append(
            {
                "@type": BAD_REQUEST,
                "fieldViolations": [{"field": f, "description": "Invalid value"} for f in fields],
            }
        )
    error = {"code": http, "message": message, "status": status, "details": details}
    return (http, {"error": error}, {})


UNREGISTERED = fcm_error(404, "NOT_FOUND", "Requested entity was not found.", code="UNREGISTERED")
SENDER_ID_MISMATCH = fcm_error(
    403, "PERMISSION_DENIED", "SenderId mismatch", code="SENDER_ID_MISMATCH"
)
BAD_TOKEN = fcm_error(
    400,
    "INVALID_ARGUMENT",
    "The registration token is not a valid FCM registration token",
    code="INVALID_ARGUMENT",
    fields=["message.token"],
)
BAD_PAYLOAD = fcm_error(
    400,
    "INVALID_ARGUMENT",
    "Invalid value at 'message.data[0].value'",
    code="INVALID_ARGUMENT",
    fields=["message.data[0].value"],
)
UNAVAILABLE = fcm_error(
    503, "UNAVAILABLE", "The service is currently unavailable.", code="UNAVAILABLE"
)


def quota_exceeded(retry_after: str) -> tuple:
    http, body, _ = fcm_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", code="QUOTA_EXCEEDED")
    return (http, body, {"Retry-After": retry_after})


@dataclass
class Meanwhile:
    """A scripted reply that first runs `action` (in the server's thread, on its own database
    connection: the test must be transactional), as if it happened while FCM answered."""

    action: object
    reply: tuple

    def run(self) -> tuple:
        from django.db import connection

        try:
            self.action()
        finally:
            connection.close()
        return self.reply


@dataclass
class FCMServer:
    url: str = ""
    token_uri: str = ""
    # Scripted answers to messages:send, first in first out; a success once they run out.
    replies: deque = field(default_factory=deque)
    # What arrived: each send's JSON body and bearer token, each token request's claims.
    sends: list = field(default_factory=list)
    send_times: list = field(default_factory=list)  # time.monotonic() of each send
    token_requests: list = field(default_factory=list)
    valid_tokens: set = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, *replies) -> None:
        with self.lock:
            self.replies.extend(replies)

    def revoke_access_tokens(self) -> None:
        """Every access token issued so far stops working (as when Google revokes one)."""
        with self.lock:
            self.valid_tokens.clear()

    @property
    def messages(self) -> list[dict]:
        with self.lock:
            return [body["message"] for body, _ in self.sends]


def _handler(server: FCMServer, public_pem: str):
    tokens, names = itertools.count(1), itertools.count(1)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _reply(self, status: int, body: dict, headers: dict | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/token":
                return self._token(parse_qs(raw.decode()))
            if self.path == f"/v1/projects/{PROJECT}/messages:send":
                return self._send(json.loads(raw))
            return self._reply(404, {"error": {"code": 404, "status": "NOT_FOUND"}})

        def _token(self, form):
            grant = form.get("grant_type", [""])[0]
            if grant != "urn:ietf:params:oauth:grant-type:jwt-bearer":
                return self._reply(400, {"error": "unsupported_grant_type"})
            try:
                # google-auth signs for Google's token endpoint whatever token_uri says
                claims = jwt.decode(form["assertion"][0], certs=public_pem, audience=GOOGLE_TOKEN)
            except (KeyError, ValueError) as exc:
                return self._reply(400, {"error": "invalid_grant", "error_description": str(exc)})
            if claims.get("scope") != SCOPE:
                return self._reply(400, {"error": "invalid_scope"})
            token = f"access-{next(tokens)}"
            with server.lock:
                server.token_requests.append(claims)
                server.valid_tokens.add(token)
            return self._reply(
                200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}
            )

        def _send(self, body):
            bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
            with server.lock:
                if bearer not in server.valid_tokens:
                    reply = fcm_error(401, "UNAUTHENTICATED", "Request had invalid credentials.")
                else:
                    server.sends.append((body, bearer))
                    server.send_times.append(time.monotonic())
                    reply = server.replies.popleft() if server.replies else None
            if isinstance(reply, Meanwhile):
                reply = reply.run()
            if reply is None:
                reply = (200, {"name": f"projects/{PROJECT}/messages/{next(names)}"}, {})
            self._reply(*reply)

    return Handler


@pytest.fixture(name="fcm")
def fcm_fixture(settings, tmp_path):
    """The loopback FCM, with settings pointing the "fcm" backend at it for the test."""
    private_pem, public_pem = rsa_key()
    server = FCMServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server, public_pem))
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    server.token_uri = f"{server.url}/token"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    credentials = tmp_path / "service-account.json"
    credentials.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": PROJECT,
                "private_key_id": "test-key-1",
                "private_key": private_pem,
                "client_email": f"push@{PROJECT}.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": server.token_uri,
            }
        )
    )
    settings.PUSH_BACKEND = "fcm"
    settings.FCM_PROJECT_ID = PROJECT
    settings.FCM_CREDENTIALS_FILE = str(credentials)
    settings.FCM_URL = server.url
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()


_installations = itertools.count(1)


def device_of(user, *, token: str = "", **fields) -> Device:
    """An active, signed-in device of the user with a push token (a row, for speed; the API's
    registration is tested in test_smoke and the sign-in tests)."""
    n = next(_installations)
    return Device.objects.create(
        client=user.client,
        user=user,
        installation_id=f"install-{n:04d}",
        platform=Device.Platform.ANDROID,
        push_token=token or f"push-token-{n}",
        session_key=fields.pop("session_key", f"session-{n}"),
        **fields,
    )
