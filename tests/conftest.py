"""Shared fixtures: personas of two clients, a real SMTP server on loopback, Celery modes.

The suite runs on PostgreSQL and Redis only (DATABASE_URL and REDIS_URL, set by
scripts/test); it refuses SQLite so that a green run proves the real thing.
"""

import threading
from dataclasses import dataclass

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings

from opsx.celery import app as celery_app

from .factories import AdminFactory, ClientFactory, UserFactory


def pytest_configure(config):
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        pytest.exit(
            f"The tests run on PostgreSQL only (DATABASE_URL gives {engine}). Use scripts/test.",
            returncode=3,
        )
    if not settings.REDIS_URL:
        pytest.exit("The tests need Redis: set REDIS_URL (scripts/test does).", returncode=3)


@pytest.fixture(autouse=True)
def _fresh_cache_and_eager_tasks():
    """Each test starts with an empty cache (rate limits, sessions) and runs tasks in-process;
    tests that need the broker and a real worker switch eager off themselves."""
    from django.core.cache import cache

    cache.clear()
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = True


@dataclass
class Personas:
    """Alice administers client A, Bob is her member; Carol and Dan are the same at client B,
    who must never see A's things."""

    client_a: object
    alice: object
    bob: object
    client_b: object
    carol: object
    dan: object


@pytest.fixture
def personas(db):
    client_a = ClientFactory(name="Acme")
    client_b = ClientFactory(name="Bravo")
    return Personas(
        client_a=client_a,
        alice=AdminFactory(client=client_a, email="alice@acme.example", full_name="Alice Admin"),
        bob=UserFactory(client=client_a, email="bob@acme.example", full_name="Bob Member"),
        client_b=client_b,
        carol=AdminFactory(client=client_b, email="carol@bravo.example", full_name="Carol Admin"),
        dan=UserFactory(client=client_b, email="dan@bravo.example", full_name="Dan Member"),
    )


class _Inbox:
    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        import email
        from email import policy

        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@dataclass
class SMTPServer:
    host: str
    port: int
    inbox: _Inbox

    @property
    def messages(self):
        with self.inbox.lock:
            return list(self.inbox.messages)


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback; Django's mail goes to it for the test."""
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield SMTPServer("127.0.0.1", controller.port, inbox)
    controller.stop()


def sign_in(client, user, password=None):
    """A real sign-in through allauth's form (recent authentication, tracked session)."""
    from django.urls import reverse

    from .factories import PASSWORD

    response = client.post(
        reverse("account_login"), {"login": user.email, "password": password or PASSWORD}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return response


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def body_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def sam(db):
    """Sam, HexCM staff with two-factor authentication set up: may open Django admin once
    signed in (`client.force_login(sam)`)."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from .factories import StaffFactory

    staff = StaffFactory(email="sam@hexcm.example", full_name="Sam Support")
    TOTP.activate(staff, generate_totp_secret())
    return staff
