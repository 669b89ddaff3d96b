"""A real Celery worker process for tests: fed through Redis, on the live test database."""

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.db import connection

from opsx.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Worker:
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def celery_worker(tmp_path: Path, *, purge: bool = True, **env_extra: str):
    """Start `celery worker` against the test database (the test must be transactional so the
    worker sees its rows), wait until it is ready, and switch this process to queueing tasks
    instead of running them eagerly. Its output goes to a file, never to a pipe nobody reads.
    `purge=False` keeps the tasks already waiting in the broker (a test that put them there)."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{quote(db['USER'] or '')}:{quote(db['PASSWORD'] or '')}"
            f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        **env_extra,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    if purge:
        celery_app.control.purge()  # nothing left over from an earlier run
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "opsx", "worker", "--pool=solo",
             "--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--loglevel=INFO"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    worker = Worker(process, log)
    try:
        deadline = time.monotonic() + 60
        while "ready." not in worker.output():
            assert process.poll() is None, f"the worker stopped:\n{worker.output()}"
            assert time.monotonic() < deadline, f"the worker is not ready:\n{worker.output()}"
            time.sleep(0.2)
        celery_app.conf.task_always_eager = False
        yield worker
    finally:
        celery_app.conf.task_always_eager = True
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
