"""Celery entry points of the clients app: usage statistics."""

from datetime import UTC, datetime, timedelta

from celery import shared_task

from . import usage


@shared_task
def usage_flush() -> int:
    """Every USAGE_FLUSH_SECONDS (beat): counted requests into the day's usage rows."""
    return usage.usage_flush()


@shared_task
def usage_record_day(day: str | None = None) -> int:
    """Daily (beat, 00:15 UTC): every client's figures for the day that just ended, or for
    `day` (ISO date) when given."""
    when = (
        datetime.fromisoformat(day).date() if day else datetime.now(UTC).date() - timedelta(days=1)
    )
    return usage.usage_record_day(when)


@shared_task(acks_late=True)
def invoices_issue_month(year: int | None = None, month: int | None = None) -> int:
    """Monthly (beat, the 1st at 01:00 UTC): every client's invoice for the month that ended;
    a rerun issues only what is missing. Then each invoice's PDF, one task each."""
    from . import billing
    from .models import Invoice

    if year is None or month is None:
        year, month = billing.previous_month(datetime.now(UTC).date())
    issued = billing.invoices_issue_month(year, month)
    start, _ = billing.month_bounds(year, month)
    for pk in Invoice.objects.filter(period_start=start, pdf="").values_list("pk", flat=True):
        invoice_render_pdf.delay(pk)
    unpaid = Invoice.objects.filter(period_start=start, status=Invoice.Status.ISSUED)
    for pk in unpaid.filter(payment_error="").values_list("pk", flat=True):
        invoice_charge.delay(pk)
    return issued


@shared_task(acks_late=True)
def invoice_render_pdf(invoice_id: int) -> None:
    from . import billing
    from .models import Invoice

    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is not None:
        billing.invoice_pdf(invoice)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=60, max_retries=5)
def invoice_charge(invoice_id: int) -> None:
    """The card on file pays the invoice; the processor down is retried with backoff (the
    idempotency key makes a retry the same charge)."""
    from . import billing
    from .models import Invoice

    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is not None:
        billing.invoice_charge(invoice=invoice)
