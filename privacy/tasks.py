"""Celery entry points of the privacy app: they take ids, load, and call a service."""

from celery import shared_task  # noqa: F401

# --- requests ---

# --- access archives ---

# --- erasure and retention ---

# --- policy versions ---

# --- client closure ---
