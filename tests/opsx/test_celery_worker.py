"""A real Celery worker, fed through Redis, delivers an invitation to a real SMTP server."""

import time

import pytest
from django.urls import reverse

from opsx.models import OutboundMessage
from tests.conftest import body_of
from tests.workers import celery_worker


@pytest.fixture
def worker(smtp_server, transactional_db, tmp_path):
    with celery_worker(
        tmp_path, EMAIL_URL=f"smtp://{smtp_server.host}:{smtp_server.port}"
    ) as worker:
        yield worker


@pytest.mark.worker
def test_an_invitation_leaves_through_the_outbox_and_a_real_worker(
    worker, smtp_server, client, personas
):
    client.force_login(personas.alice)

    response = client.post(
        reverse("admin_tasks:invite"), {"email": "newhire@example.com", "role": "member"}
    )
    assert response.status_code == 302

    deadline = time.monotonic() + 60
    while not smtp_server.messages and time.monotonic() < deadline:
        assert worker.process.poll() is None, worker.output()
        time.sleep(0.2)
    [received] = smtp_server.messages
    assert received["To"] == "newhire@example.com"
    assert "invited you to join Acme" in body_of(received)
    assert "/invitation/" in body_of(received)
    # The worker records "sent" in the transaction that holds the row while SMTP talks, so it
    # commits a moment after the server has the mail: wait for that commit, not for a guess.
    while time.monotonic() < deadline:
        message = OutboundMessage.objects.get(to_email="newhire@example.com")
        if message.status != "pending":
            break
        time.sleep(0.2)
    assert message.status == "sent" and message.attempts == 1
