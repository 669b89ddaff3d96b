from django.urls import path

from . import referral_views, views

urlpatterns = [
    path("app/", views.dashboard, name="dashboard"),
    path("app/account/", views.account_settings, name="account_settings"),
    path("app/account/refer/", referral_views.referral_page, name="referral_page"),
    path("invitation/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path(
        "mail/referral/remove/<str:token>/", referral_views.referral_remove, name="referral_remove"
    ),
]
