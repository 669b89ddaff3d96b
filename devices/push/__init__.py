"""Push notifications: the backend chosen by settings.PUSH_BACKEND.

"console" (the default) logs each message; "fcm" sends it through Firebase Cloud Messaging's
HTTP v1 API (fcm.py). Callers do not send from here: devices/notify.py queues a Celery task on
commit (devices.tasks.push_send), which re-checks the device and calls the backend.
"""

import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import Message, Outcome, Result, retry_delay

__all__ = ["Message", "Outcome", "Result", "get_backend", "retry_delay"]

_backends: dict[tuple, object] = {}
_lock = threading.Lock()


def get_backend():
    """The process's backend for the current settings, made once and kept (the FCM one holds
    its credentials and access token)."""
    name = settings.PUSH_BACKEND
    key = (name, settings.FCM_PROJECT_ID, settings.FCM_CREDENTIALS_FILE, settings.FCM_URL)
    with _lock:
        backend = _backends.get(key)
        if backend is None:
            backend = _backends[key] = _make(name)
        return backend


def _make(name: str):
    if name == "console":
        from .console import ConsoleBackend

        return ConsoleBackend()
    if name == "fcm":
        from .fcm import FCMBackend

        return FCMBackend(
            project_id=settings.FCM_PROJECT_ID,
            credentials_file=settings.FCM_CREDENTIALS_FILE,
            url=settings.FCM_URL,
        )
    raise ImproperlyConfigured(f'PUSH_BACKEND must be "console" or "fcm", not {name!r}.')
