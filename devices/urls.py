from django.urls import path

from . import message

app_name = "devices"

urlpatterns: list = [
    path("message/", message.team_message, name="message"),
]
