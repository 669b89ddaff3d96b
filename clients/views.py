from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import billing, payments, queries
from .decorators import client_admin_required
from .forms import BillingDetailsForm
from .models import Invoice


@client_admin_required
def usage(request):
    """The client's own usage: the charts and the benchmark staff see (admins only)."""
    return render(request, "clients/usage.html", queries.usage_context(request.client))


@client_admin_required
def billing_page(request):
    """Plan, trial, billing details (a form), the card, and the invoices: admins only."""
    record = billing.billing_of(request.client)
    form = BillingDetailsForm(
        request.POST or None,
        initial={f: getattr(record, f) for f in billing.DETAIL_FIELDS},
    )
    if request.method == "POST" and form.is_valid():
        billing.billing_details_update(
            client=request.client, actor=request.user, **form.cleaned_data
        )
        messages.success(request, "Billing details saved: the next invoice uses them.")
        return redirect("admin_tasks:billing")
    context = {
        "billing": record,
        "form": form,
        "today": timezone.localdate(),
        "cards_offered": payments.enabled(),
        "invoices": Invoice.objects.for_client(request.client).only(
            "public_id",
            "number",
            "period_start",
            "total",
            "currency",
            "status",
            "issued_on",
            "payment_error",
        ),
    }
    return render(request, "clients/billing.html", context, status=400 if form.errors else 200)


@client_admin_required
def invoice_download(request, public_id):
    invoice = get_object_or_404(Invoice.objects.for_client(request.client), public_id=public_id)
    response = HttpResponse(billing.invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    return response


# --- the payment card (clients/payments.py) -----------------------------------------------


def _site(name: str) -> str:
    return settings.SITE_URL + reverse(name)


@require_POST
@client_admin_required
def card_add(request):
    """Off to the processor's own page to add or replace the card."""
    try:
        url = payments.card_setup_start(
            client=request.client,
            actor=request.user,
            success_url=_site("admin_tasks:card_done") + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=_site("admin_tasks:card_cancelled"),
        )
    except (ValidationError, payments.ProcessorError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return redirect("admin_tasks:billing")
    return redirect(url)


@client_admin_required
def card_done(request):
    """Back from the processor: keep the card if the setup finished."""
    try:
        saved = payments.card_setup_finish(
            session_id=request.GET.get("session_id", ""), client=request.client, actor=request.user
        )
    except payments.ProcessorError as exc:
        messages.error(request, str(exc))
        return redirect("admin_tasks:billing")
    if saved is None:
        messages.error(request, "No card was added: the card setup was not finished.")
    else:
        messages.success(
            request, f"Card saved: {saved.card_brand.title()} ending in {saved.card_last4}."
        )
    return redirect("admin_tasks:billing")


@client_admin_required
def card_cancelled(request):
    messages.info(request, "No card was added. Invoices stay payable by bank transfer.")
    return redirect("admin_tasks:billing")


@require_POST
@client_admin_required
def card_delete(request):
    try:
        payments.card_remove(client=request.client, actor=request.user)
    except payments.ProcessorError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Card deleted, here and at the payment processor.")
    return redirect("admin_tasks:billing")


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Stripe's signed events: a finished card setup is kept even if the admin's browser never
    came back. 404 unless STRIPE_WEBHOOK_SECRET is set; a bad signature is a 400."""
    gateway = payments.processor()
    if gateway is None or not settings.STRIPE_WEBHOOK_SECRET:
        raise Http404
    try:
        session_id = gateway.webhook_setup_session(
            request.body, request.headers.get("Stripe-Signature", "")
        )
    except ValueError:
        return HttpResponse("Bad signature.", status=400, content_type="text/plain")
    if session_id:
        try:
            payments.card_setup_finish(session_id=session_id, client=None, actor=None)
        except payments.ProcessorError:
            return HttpResponse("Try again.", status=503, content_type="text/plain")
    return HttpResponse("OK", content_type="text/plain")
