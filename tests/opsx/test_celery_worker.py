"""A real Celery worker, fed through Redis, delivers an invitation to a real SMTP server."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from opsx.celery import app as celery_app
from opsx.models import OutboundMessage
from tests.conftest import body_of

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def celery_worker_process(smtp_server, transactional_db):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "EMAIL_URL": f"smtp://{smtp_server.host}:{smtp_server.port}",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    celery_app.control.purge()  # nothing left over from an earlier run
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "opsx",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.mark.worker
def test_an_invitation_leaves_through_the_outbox_and_a_real_worker(
    celery_worker_process, smtp_server, client, personas
):
    celery_app.conf.task_always_eager = False
    client.force_login(personas.alice)

    response = client.post(
        reverse("admin_tasks:invite"), {"email": "newhire@example.com", "role": "member"}
    )
    assert response.status_code == 302

    deadline = time.monotonic() + 60
    while not smtp_server.messages and time.monotonic() < deadline:
        assert celery_worker_process.poll() is None, celery_worker_process.stdout.read()
        time.sleep(0.2)
    [received] = smtp_server.messages
    assert received["To"] == "newhire@example.com"
    assert "invited you to join Acme" in body_of(received)
    assert "/invitation/" in body_of(received)
    message = OutboundMessage.objects.get(to_email="newhire@example.com")
    assert message.status == "sent" and message.attempts == 1
