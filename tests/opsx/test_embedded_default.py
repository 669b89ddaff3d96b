"""The README's first command runs OpsX on the embedded default: SQLite, tasks in-process, no
Redis. The suite runs on PostgreSQL, so this test migrates a fresh SQLite database, loads the
demo data and opens the main pages as the demo users there: a PostgreSQL-only query on a page
fails here, not in a newcomer's browser."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PAGES = """
import json
from django.conf import settings
from django.test import Client
from prospects.models import Prospect
from accounts.models import User

settings.ALLOWED_HOSTS = ["testserver"]
statuses = {}
visitor = Client()
for url in ["/", "/blog/", "/forum/", "/privacy/", "/pricing/", "/newsletter/", "/sitemap.xml"]:
    statuses["visitor " + url] = visitor.get(url).status_code
for email in ["admin@acme.example", "member@acme.example"]:
    browser = Client()
    browser.force_login(User.objects.get(email=email))
    prospect = Prospect.objects.filter(client__slug="acme").first()
    urls = [
        "/app/", "/app/prospects/", f"/app/prospects/{prospect.public_id}/",
        "/app/prospects/library/", "/app/account/", "/app/account/email-preferences/",
        "/forum/", "/blog/",
    ]
    if email.startswith("admin"):
        urls += [
            "/app/admin-tasks/users/", "/app/admin-tasks/audit/", "/app/admin-tasks/usage/",
            "/app/admin-tasks/billing/", "/app/admin-tasks/devices/",
        ]
    for url in urls:
        statuses[email + " " + url] = browser.get(url).status_code
print("STATUSES" + json.dumps(statuses))
"""


def test_the_embedded_default_serves_the_main_pages_on_sqlite(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DATABASE_URL", "REDIS_URL", "USAGE_REDIS_URL", "EMAIL_URL", "CELERY_BROKER_URL"}
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        MEDIA_ROOT=str(tmp_path / "media"),
        ACCESS_LOG="off",
    )

    def manage(*args):
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout

    manage("migrate", "--no-input", "-v0")
    assert "Demo logins" in manage("seed_demo")
    out = manage("shell", "--no-imports", "-c", PAGES)
    statuses = json.loads(out.split("STATUSES", 1)[1])
    assert len(statuses) == 28
    assert {page: code for page, code in statuses.items() if code != 200} == {}
