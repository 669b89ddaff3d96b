from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from . import billing, queries
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
        "invoices": Invoice.objects.for_client(request.client).only(
            "public_id", "number", "period_start", "total", "currency", "status", "issued_on"
        ),
    }
    return render(request, "clients/billing.html", context, status=400 if form.errors else 200)


@client_admin_required
def invoice_download(request, public_id):
    invoice = get_object_or_404(Invoice.objects.for_client(request.client), public_id=public_id)
    response = HttpResponse(billing.invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    return response
