from django.urls import path

from clients import views as client_views

from . import admin_tasks as views

app_name = "admin_tasks"

urlpatterns = [
    path("users/", views.user_list, name="users"),
    path("users/invite/", views.user_invite, name="invite"),
    path("users/<uuid:public_id>/role/", views.user_role, name="user_role"),
    path("users/<uuid:public_id>/deactivate/", views.user_deactivate, name="user_deactivate"),
    path("users/<uuid:public_id>/reactivate/", views.user_reactivate, name="user_reactivate"),
    path("invitations/<uuid:public_id>/resend/", views.invitation_resend, name="invitation_resend"),
    path("invitations/<uuid:public_id>/cancel/", views.invitation_cancel, name="invitation_cancel"),
    path("audit/", views.audit_log, name="audit_log"),
    path("usage/", client_views.usage, name="usage"),
    path("billing/", client_views.billing_page, name="billing"),
    path("billing/card/", client_views.card_add, name="card_add"),
    path("billing/card/done/", client_views.card_done, name="card_done"),
    path("billing/card/cancelled/", client_views.card_cancelled, name="card_cancelled"),
    path("billing/card/delete/", client_views.card_delete, name="card_delete"),
    path(
        "billing/invoices/<uuid:public_id>.pdf", client_views.invoice_download, name="invoice_pdf"
    ),
]
