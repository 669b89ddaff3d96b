from django.urls import path

from . import message, views

app_name = "devices"

urlpatterns = [
    path("", views.device_list, name="list"),
    path("pending/", views.pending_list, name="pending"),
    path("refused/", views.refused_list, name="refused"),
    path("policy/", views.policy_set, name="policy"),
    path("message/", message.team_message, name="message"),
    path("<uuid:public_id>/revoke/", views.device_revoke, name="revoke"),
    path("<uuid:public_id>/approve/", views.device_approve, name="approve"),
    path("<uuid:public_id>/refuse/", views.device_refuse, name="refuse"),
]
