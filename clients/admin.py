import uuid

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html

from . import audit, billing, queries, services
from .models import AuditEvent, Client, ClientBilling, Invoice, Plan


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "status", "contact_email", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "slug", "contact_email"]
    # The status changes only through the actions: suspending must also end the sessions.
    # The device policy is the client admins' choice (Admin tasks → Devices, audited there).
    readonly_fields = ["public_id", "status", "device_policy", "created_at", "usage"]
    actions = ["suspend_clients", "reactivate_clients"]

    @admin.display(description="Usage")
    def usage(self, obj):
        if obj.pk is None:
            return "-"
        url = reverse("admin:clients_client_usage", args=[obj.pk])
        return format_html('<a href="{}">Usage statistics and benchmark</a>', url)

    def get_urls(self):
        own = [
            path(
                "<int:object_id>/usage/",
                self.admin_site.admin_view(self.usage_view),
                name="clients_client_usage",
            )
        ]
        return own + super().get_urls()

    def usage_view(self, request, object_id):
        """The client's usage dashboard: counts only, no personal data."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        tenant = get_object_or_404(Client, pk=object_id)
        context = {
            **self.admin_site.each_context(request),
            **queries.usage_context(tenant),
            "title": f"Usage of {tenant.name}",
            "tenant": tenant,
            "back": reverse("admin:clients_client_change", args=[tenant.pk]),
        }
        return render(request, "admin/clients/client/usage.html", context)

    @admin.action(description="Suspend the selected clients (signs their users out)")
    def suspend_clients(self, request, queryset):
        for client in queryset:
            services.client_suspend(client=client, acting_user=request.user)
        self.message_user(
            request,
            f"{len(queryset)} client(s) suspended; their users were signed out.",
            messages.SUCCESS,
        )

    @admin.action(description="Reactivate the selected clients")
    def reactivate_clients(self, request, queryset):
        for client in queryset:
            services.client_reactivate(client=client, acting_user=request.user)
        self.message_user(request, f"{len(queryset)} client(s) reactivated.", messages.SUCCESS)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """HexCM staff read every client's trail here; nobody adds, edits or deletes an event (the
    table's trigger refuses it underneath too)."""

    list_display = ["created_at", "client", "actor_kind", "actor", "action", "target_type", "target_id", "ip_address"]  # fmt: skip
    list_filter = ["client", "action", "actor_kind", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["client", "actor"]
    search_fields = ["=target_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # a COUNT over the whole trail for every page is not needed
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
    actions = None

    def get_search_results(self, request, queryset, search_term):
        # only a whole UUID can match the uuid column; anything else finds nothing instead of
        # failing to cast
        term = search_term.strip()
        try:
            uuid.UUID(term)
        except ValueError:
            if term:
                return queryset.none(), False
        return super().get_search_results(request, queryset, term)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "price_per_user", "currency", "trial_days", "active"]
    list_filter = ["active"]
    prepopulated_fields = {"code": ["name"]}


class _AuditedBillingRead:
    """Staff opening a client's billing details or an invoice (names, addresses, GSTIN): each
    opening is in the audit trail, as the policy limits this access to invoicing."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and request.method == "GET":
            audit.record(
                actor=request.user,
                action=audit.Action.BILLING_VIEWED,
                target=obj,
                client=obj.client_id,
            )
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(ClientBilling)
class ClientBillingAdmin(_AuditedBillingRead, admin.ModelAdmin):
    # The list shows no personal data: the client and its plan.
    list_display = ["client", "plan", "trial_ends_on", "has_card"]
    list_filter = ["plan"]
    search_fields = ["client__name"]
    fields = [
        "client",
        "plan",
        "trial_ends_on",
        "legal_name",
        "address",
        "country",
        "state",
        "gstin",
        "billing_email",
        "card_brand",
        "card_last4",
        "card_exp_month",
        "card_exp_year",
    ]
    # Details are the client admins' to change; staff set the plan (clients.billing).
    readonly_fields = [f for f in fields if f != "plan"]

    @admin.display(boolean=True, description="Card")
    def has_card(self, obj):
        return obj.has_card

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        billing.billing_plan_set(client=obj.client, plan=obj.plan, actor=request.user)


@admin.register(Invoice)
class InvoiceAdmin(_AuditedBillingRead, admin.ModelAdmin):
    list_display = [
        "number",
        "client",
        "period_start",
        "active_users",
        "total",
        "currency",
        "status",
    ]
    list_filter = ["status", "period_start"]
    search_fields = ["number", "client__name"]
    list_select_related = ["client"]
    actions = ["mark_paid"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Invoice._meta.fields]

    @admin.action(description="Mark the selected invoices paid (a transfer arrived)")
    def mark_paid(self, request, queryset):
        for invoice in queryset:
            billing.invoice_mark_paid(invoice=invoice, actor=request.user)
        self.message_user(request, f"{len(queryset)} invoice(s) marked paid.", messages.SUCCESS)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
