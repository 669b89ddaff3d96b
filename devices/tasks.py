"""Celery entry points of devices: sending pushes, fanning out team messages, expiring the
answers kept for Idempotency-Key retries."""

from __future__ import annotations

import datetime
import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import notify, push, services
from .models import Device, IdempotencyRecord

logger = logging.getLogger("opsx.push")

# Rows one DELETE removes: short statements, no long lock on the table.
EXPIRE_BATCH = 5000


@shared_task(bind=True, acks_late=True, max_retries=None)
def push_send(self, device_id: int, push_token: str, title: str, body: str, data: dict) -> str:
    """Send one notification to one device, if it is still active and still has the token
    the notification was queued for (it may have been revoked, or have registered a new
    token, since). A dead token clears that device's token; a temporary failure is retried
    with backoff up to PUSH_MAX_RETRIES times; anything else is logged. Returns the outcome."""
    device = Device.objects.filter(pk=device_id).only("status", "push_token").first()
    if device is None or not device.is_active or device.push_token != push_token:
        logger.info("Push to device %s not sent: revoked or its token changed", device_id)
        return "skipped"
    result = push.get_backend().send(
        push.Message(token=push_token, title=title, body=body, data=data)
    )
    if result.outcome == push.Outcome.SENT:
        return "sent"
    if result.outcome == push.Outcome.DEAD_TOKEN:
        cleared = services.device_clear_push_token(device_id=device_id, token=push_token)
        logger.info(
            "Push token of device %s is dead (%s)%s",
            device_id,
            result.detail,
            "; cleared" if cleared else "; the device has another one now",
        )
        return "dead_token"
    if result.outcome == push.Outcome.REFUSED:
        logger.error("Push to device %s refused, not retried: %s", device_id, result.detail)
        return "refused"
    retries = self.request.retries
    countdown = push.retry_delay(retries, result.retry_after)
    if retries >= settings.PUSH_MAX_RETRIES or countdown is None:
        logger.error(
            "Push to device %s given up after %s tries: %s%s",
            device_id,
            retries + 1,
            result.detail,
            f" (asked to wait {result.retry_after:.0f} s)" if countdown is None else "",
        )
        return "given_up"
    logger.warning(
        "Push to device %s failed (%s); retry %s in %.0f s",
        device_id,
        result.detail,
        retries + 1,
        countdown,
    )
    raise self.retry(countdown=countdown)


@shared_task(acks_late=True)
def team_message_fan_out(client_id: int, title: str, body: str, after_id: int = 0) -> None:
    """Queue a team message's pushes a batch at a time; each batch queues the next run, so
    no run holds a worker for a whole large client."""
    last_id = notify.team_message_fan_out(
        client_id=client_id, title=title, body=body, after_id=after_id
    )
    if last_id is not None:
        team_message_fan_out.apply_async(args=[client_id, title, body, last_id])


@shared_task
def idempotency_expire() -> int:
    """Delete the answers kept for retried writes once API_IDEMPOTENCY_DAYS old, in batches.
    Runs unscoped (a beat sweep over every client). Returns how many were deleted."""
    cutoff = timezone.now() - datetime.timedelta(days=settings.API_IDEMPOTENCY_DAYS)
    total = 0
    while True:
        ids = list(
            IdempotencyRecord.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[
                :EXPIRE_BATCH
            ]
        )
        if not ids:
            return total
        deleted, _ = IdempotencyRecord.objects.filter(pk__in=ids).delete()
        total += deleted
        if len(ids) < EXPIRE_BATCH:
            return total
