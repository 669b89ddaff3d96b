from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("website.urls")),
    path("", include("accounts.urls")),
    path("app/admin-tasks/", include("clients.urls")),
    path("app/prospects/", include("prospects.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
