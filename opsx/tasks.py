from celery import shared_task

from . import mail


@shared_task(bind=True, max_retries=5, acks_late=True)
def mail_send(self, message_id: str) -> None:
    """Deliver one outbound message; a failure is retried with backoff (and the periodic task
    picks it up too, so a lost retry loses nothing)."""
    from .models import OutboundMessage

    if not mail.deliver(message_id) and not self.request.is_eager:
        message = OutboundMessage.objects.filter(pk=message_id).only("status", "attempts").first()
        if message and message.status == OutboundMessage.Status.PENDING and message.attempts:
            raise self.retry(countdown=mail._backoff(message.attempts).total_seconds())


@shared_task
def mail_send_pending() -> int:
    return mail.deliver_pending()


@shared_task(acks_late=True)
def mail_send_batch(batch_id: str) -> int:
    """Send one chunk of a batch, then hand the rest to a new task of the same chain (short
    tasks: a worker restart loses at most one chunk's lease, which the periodic task resumes)."""
    run = mail.deliver_batch(batch_id)
    if run.more:
        mail_send_batch.apply_async(args=[batch_id], countdown=run.retry_in or None, retry=False)
    return run.sent
