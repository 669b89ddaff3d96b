from django.contrib import admin, messages

from . import services
from .models import Client


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "status", "contact_email", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "slug", "contact_email"]
    # The status changes only through the actions: suspending must also end the sessions.
    readonly_fields = ["public_id", "status", "created_at"]
    actions = ["suspend_clients", "reactivate_clients"]

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
