from django.urls import path, re_path

from privacy.models import POLICY_LABEL_PATTERN

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("privacy/", views.privacy, name="privacy"),
    path("testimonials/", views.testimonials_page, name="testimonials"),
    # The label's own pattern: anything else is a 404 before any query.
    re_path(
        rf"^privacy/versions/(?P<label>{POLICY_LABEL_PATTERN})/$",
        views.privacy_version,
        name="privacy_version",
    ),
]
