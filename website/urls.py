from django.urls import path, re_path

from privacy.models import POLICY_LABEL_PATTERN

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("product/", views.product, name="product"),
    path("pricing/", views.pricing, name="pricing"),
    path("contact/", views.contact, name="contact"),
    path("terms/", views.terms, name="terms"),
    path("subprocessors/", views.subprocessors, name="subprocessors"),
    path("cookies/", views.cookies_page, name="cookies"),
    path("privacy/", views.privacy, name="privacy"),
    path("testimonials/", views.testimonials_page, name="testimonials"),
    # The label's own pattern: anything else is a 404 before any query.
    re_path(
        rf"^privacy/versions/(?P<label>{POLICY_LABEL_PATTERN})/$",
        views.privacy_version,
        name="privacy_version",
    ),
]
