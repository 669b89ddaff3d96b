"""Billing: plans, trials, the client's billing details, and the month's invoices.

An invoice bills the month's *average* daily active users (clients.models.UsageDay, rounded
half up), not the peak day: a client who brings in a crew for one busy day is not billed the
whole month for it. A trial that ends within the month bills only the days after it, pro rata.

Invoices are numbered from one counter (InvoiceSequence) locked by the issuing transaction, so
the numbers run without a gap or a duplicate whatever runs at once; the client's billing row is
locked first, so two runs of the same month issue each client's invoice once.
"""

from __future__ import annotations

import calendar
import logging
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Avg
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from opsx import mail

from . import audit, gst
from .models import Client, ClientBilling, Invoice, InvoiceSequence, Plan, UsageDay

logger = logging.getLogger(__name__)
CENT = Decimal("0.01")


def billing_of(client: Client) -> ClientBilling:
    billing, _ = ClientBilling.objects.for_client(client).get_or_create(client=client)
    return billing


def seller() -> dict:
    return dict(settings.BILLING_SELLER)


# --- plans and details ---------------------------------------------------------------------


@transaction.atomic
def billing_plan_set(*, client: Client, plan: Plan | None, actor) -> ClientBilling:
    """Put the client on `plan` (None: not billed). The first plan starts its trial."""
    billing = ClientBilling.objects.select_for_update().get(pk=billing_of(client).pk)
    old = billing.plan.code if billing.plan else ""
    billing.plan = plan
    if plan is not None and billing.trial_ends_on is None:
        billing.trial_ends_on = timezone.localdate() + timedelta(days=plan.trial_days)
    billing.save(update_fields=["plan", "trial_ends_on", "updated_at"])
    audit.record(
        actor=actor,
        action=audit.Action.BILLING_PLAN_SET,
        target=client,
        client=client,
        changes={"plan": (old, plan.code if plan else "")},
    )
    return billing


def billing_start(*, client: Client, actor) -> ClientBilling | None:
    """A new client starts on the default plan (BILLING_DEFAULT_PLAN) with its free trial; no
    such active plan: on none (not billed)."""
    plan = Plan.objects.filter(code=settings.BILLING_DEFAULT_PLAN, active=True).first()
    return billing_plan_set(client=client, plan=plan, actor=actor) if plan else None


DETAIL_FIELDS = ("legal_name", "address", "country", "state", "gstin", "billing_email")


def clean_details(*, country: str, state: str, gstin: str) -> tuple[str, str, str]:
    """Checked the way an invoice needs them: an Indian client names its state; a GSTIN, if
    given, is valid and registered in that state. Returns (country, state, gstin)."""
    country = (country or "").strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise ValidationError({"country": "Choose the country."})
    if country != "IN":
        if gstin:
            raise ValidationError({"gstin": "A GSTIN is only for a company registered in India."})
        return country, "", ""
    if state not in gst.STATES:
        raise ValidationError({"state": "Choose the state the company is registered in."})
    if gstin:
        try:
            gstin = gst.validate_gstin(gstin, state=state)
        except ValidationError as exc:
            raise ValidationError({"gstin": exc.messages}) from exc
    return country, state, gstin


@transaction.atomic
def billing_details_update(*, client: Client, actor, **details) -> ClientBilling:
    billing = ClientBilling.objects.select_for_update().get(pk=billing_of(client).pk)
    details["country"], details["state"], details["gstin"] = clean_details(
        country=details.get("country", ""),
        state=details.get("state", ""),
        gstin=details.get("gstin", ""),
    )
    changed = {}
    for field in DETAIL_FIELDS:
        value = (details.get(field) or "").strip()
        if getattr(billing, field) != value:
            changed[field] = (None, None)
            setattr(billing, field, value)
    if changed:
        billing.save(update_fields=[*DETAIL_FIELDS, "updated_at"])
        audit.record(
            actor=actor,
            action=audit.Action.BILLING_DETAILS_CHANGED,
            target=client,
            client=client,
            changes=changed,
        )
    return billing


# --- invoices --------------------------------------------------------------------------------


def month_bounds(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def previous_month(today: date) -> tuple[int, int]:
    first = today.replace(day=1) - timedelta(days=1)
    return first.year, first.month


def _billed_users(client: Client, start: date, end: date) -> int:
    average = (
        UsageDay.objects.for_client(client)
        .filter(day__gte=start, day__lte=end)
        .aggregate(a=Avg("active_users"))["a"]
    )
    return int(Decimal(average or 0).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _next_number() -> tuple[int, str]:
    counter, _ = InvoiceSequence.objects.get_or_create(name="invoices")
    counter = InvoiceSequence.objects.select_for_update().get(pk=counter.pk)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last, f"{settings.BILLING_INVOICE_PREFIX}-{counter.last:06d}"


def invoice_issue(*, client: Client, year: int, month: int, actor=None) -> Invoice | None:
    """The client's invoice for the month, issued now; None when there is nothing to bill (no
    plan, still in trial, no active user) or it was issued already."""
    start, end = month_bounds(year, month)
    with transaction.atomic():
        billing = ClientBilling.objects.for_client(client).select_for_update().first()
        if billing is None or billing.plan is None:
            return None
        if Invoice.objects.for_client(client).filter(period_start=start).exists():
            return None
        days = (end - start).days + 1
        first_billed = max(start, billing.trial_ends_on or start)
        billable_days = max(0, (end - first_billed).days + 1)
        users = _billed_users(client, start, end)
        if billable_days == 0 or users == 0:
            return None
        plan = billing.plan
        subtotal = (plan.price_per_user * users * billable_days / days).quantize(
            CENT, rounding=ROUND_HALF_UP
        )
        seller_details = seller()
        tax = gst.tax_for(
            subtotal,
            buyer_country=billing.country,
            buyer_state=billing.state,
            seller_state=seller_details["state"],
        )
        sequence, number = _next_number()
        invoice = Invoice.objects.create(
            client=client,
            sequence=sequence,
            number=number,
            period_start=start,
            period_end=end,
            issued_on=timezone.localdate(),
            plan_name=plan.name,
            currency=plan.currency,
            active_users=users,
            unit_price=plan.price_per_user,
            billable_days=billable_days,
            subtotal=subtotal,
            cgst=tax.cgst,
            sgst=tax.sgst,
            igst=tax.igst,
            total=subtotal + tax.total,
            seller=seller_details,
            buyer={
                "name": billing.legal_name or client.name,
                "address": billing.address,
                "country": billing.country,
                "state": billing.state,
                "state_name": gst.STATES.get(billing.state, ""),
                "gstin": billing.gstin,
                "email": billing.billing_email or client.contact_email,
            },
        )
        audit.record(
            actor=actor,
            action=audit.Action.INVOICE_ISSUED,
            target=invoice,
            client=client,
            counts={"active_users": users},
        )
        mail.queue(
            to=invoice.buyer["email"],
            template="invoice-issued",
            context={
                "invoice": invoice,
                "client_name": client.name,
                "has_card": billing.has_card,
                "billing_path": reverse("admin_tasks:billing"),
            },
            category=mail.Category.ACCOUNT,
        )
    return invoice


def invoices_issue_month(year: int, month: int, *, actor=None) -> int:
    """Every client's invoice for the month (each in its own transaction; a second run only
    issues what the first did not). Returns how many were issued."""
    issued = 0
    client_ids = ClientBilling.objects.filter(plan__isnull=False).values_list(
        "client_id", flat=True
    )
    for client in Client.objects.filter(pk__in=list(client_ids)).order_by("pk").iterator():
        if invoice_issue(client=client, year=year, month=month, actor=actor) is not None:
            issued += 1
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=audit.Action.INVOICES_ISSUED,
            client=audit.NO_CLIENT,
            counts={"issued": issued, "year": year, "month": month},
        )
    return issued


# --- the PDF ---------------------------------------------------------------------------------


def invoice_html(invoice: Invoice) -> str:
    return render_to_string("clients/invoice_pdf.html", {"invoice": invoice})


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice's PDF: rendered once (WeasyPrint) and stored with it."""
    if invoice.pdf:
        with invoice.pdf.open("rb") as stored:
            return stored.read()
    from weasyprint import HTML  # imported here: it loads Pango, which only this needs

    pdf = HTML(string=invoice_html(invoice), base_url=None).write_pdf()
    invoice.pdf.save(f"{invoice.number}.pdf", ContentFile(pdf), save=False)
    Invoice.objects.filter(pk=invoice.pk).update(pdf=invoice.pdf.name)
    return pdf


@transaction.atomic
def invoice_mark_paid(*, invoice: Invoice, actor, reference: str = "") -> Invoice:
    """Record that the invoice was paid: staff saw a transfer arrive (actor), or the card on
    file was charged (actor None, the processor's reference). Once only."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == Invoice.Status.PAID:
        return invoice
    invoice.status = Invoice.Status.PAID
    invoice.paid_at = timezone.now()
    invoice.payment_reference = reference
    invoice.payment_error = ""
    invoice.save(update_fields=["status", "paid_at", "payment_reference", "payment_error"])
    audit.record(
        actor=actor,
        action=audit.Action.INVOICE_PAID,
        target=invoice,
        client=invoice.client_id,
        changes={"status": (Invoice.Status.ISSUED, Invoice.Status.PAID)},
    )
    return invoice


def invoice_charge(*, invoice: Invoice) -> Invoice:
    """Charge the client's card on file for an issued invoice (a task, after issuing). No card,
    or paid already: nothing happens. A decline is kept on the invoice for the admins to see;
    the invoice then waits for a transfer or a new card."""
    from . import payments

    gateway = payments.processor()
    card = ClientBilling.objects.for_client(invoice.client).first()
    if (
        invoice.status == Invoice.Status.PAID
        or gateway is None
        or card is None
        or not card.has_card
    ):
        return invoice
    result = gateway.charge(
        customer_id=card.processor_customer_id,
        payment_method_id=card.processor_payment_method_id,
        amount_minor=int(invoice.total * 100),
        currency=invoice.currency,
        description=f"OpsX invoice {invoice.number}",
        idempotency_key=f"opsx-invoice-{invoice.public_id}",
    )
    if result.paid:
        return invoice_mark_paid(invoice=invoice, actor=None, reference=result.reference)
    with transaction.atomic():
        updated = Invoice.objects.filter(pk=invoice.pk, payment_error="").update(
            payment_error=result.message or "Declined."
        )
        invoice.refresh_from_db()
        if updated:  # told once, however often the task runs
            mail.queue(
                to=invoice.buyer.get("email") or invoice.client.contact_email,
                template="invoice-payment-failed",
                context={
                    "invoice": invoice,
                    "client_name": invoice.client.name,
                    "reason": invoice.payment_error,
                    "billing_path": reverse("admin_tasks:billing"),
                },
                category=mail.Category.ACCOUNT,
            )
    return invoice
