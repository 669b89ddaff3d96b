from django.urls import path

from . import views

urlpatterns = [
    path("app/", views.dashboard, name="dashboard"),
    path("app/account/", views.account_settings, name="account_settings"),
    path("invitation/<str:token>/", views.invitation_accept, name="invitation_accept"),
]
