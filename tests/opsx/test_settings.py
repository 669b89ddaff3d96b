"""Configuration comes from the environment; the embedded default and production both hold."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k" * 20 + "9f8e7d6c5b4a3928170615243342516070819aa",
    "ALLOWED_HOSTS": "opsx.example.com",
    "DATABASE_URL": "postgres://opsx@127.0.0.1:5432/opsx",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
}


def _manage(*args, env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "EMAIL_URL",
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "CELERY_BROKER_URL",
            "CELERY_TASK_ALWAYS_EAGER",
            "DJANGO_SETTINGS_MODULE",
        }
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _settings_value(expression, env):
    code = f"from django.conf import settings; from opsx.celery import app; print(repr(({expression})))"
    return _manage("shell", "--no-imports", "-c", code, env=env).stdout.strip()


def test_with_nothing_set_it_runs_on_sqlite_eager_tasks_and_console_mail():
    value = _settings_value(
        "settings.DATABASES['default']['ENGINE'], app.conf.task_always_eager, settings.EMAIL_BACKEND",
        env={},
    )
    assert (
        value
        == "('django.db.backends.sqlite3', True, 'django.core.mail.backends.console.EmailBackend')"
    )


def test_production_values_come_from_the_environment():
    value = _settings_value(
        "settings.DATABASES['default']['NAME'], app.conf.broker_url, app.conf.task_always_eager, "
        "settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS",
        env=PRODUCTION,
    )
    assert value == "('opsx', 'redis://127.0.0.1:6379/0', False, 'smtp.example.com', 587, True)"


def test_the_deploy_check_reports_nothing_in_production():
    result = _manage("check", "--deploy", "--fail-level", "DEBUG", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("secret", ["", "short", "x" * 60])
def test_production_refuses_a_weak_secret_key(secret):
    result = _manage("check", env={**PRODUCTION, "SECRET_KEY": secret})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_turns_on_https_hsts_and_secure_cookies():
    value = _settings_value(
        "settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS, settings.SESSION_COOKIE_SECURE, "
        "settings.CSRF_COOKIE_SECURE, settings.SESSION_COOKIE_HTTPONLY, settings.PASSWORD_HASHERS[0], "
        "settings.STORAGES['staticfiles']['BACKEND']",
        env=PRODUCTION,
    )
    assert value == (
        "(True, 31536000, True, True, True, 'django.contrib.auth.hashers.Argon2PasswordHasher', "
        "'whitenoise.storage.CompressedManifestStaticFilesStorage')"
    )


def test_every_variable_read_by_settings_is_documented_in_env_example():
    import re

    read = set(
        re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', (ROOT / "opsx/settings.py").read_text())
    )
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read - documented == set()


def test_client_files_go_to_private_object_storage_when_a_bucket_is_set():
    value = _settings_value(
        "settings.STORAGES['default']['BACKEND'], settings.STORAGES['default']['OPTIONS']['default_acl']",
        env={**PRODUCTION, "S3_BUCKET": "opsx-files"},
    )
    assert value == "('storages.backends.s3.S3Storage', 'private')"


@pytest.mark.parametrize(("enabled", "expected"), [("true", "True"), ("false", "False")])
def test_account_rate_limits_follow_the_environment(enabled, expected):
    """allauth reads ACCOUNT_RATE_LIMITS; the variable turns its limits on or off."""
    value = _settings_value(
        "'login_failed' in __import__('allauth.account.app_settings').account.app_settings"
        ".RATE_LIMITS",
        env={"ACCOUNT_RATE_LIMITS_ENABLED": enabled},
    )
    assert value == expected
