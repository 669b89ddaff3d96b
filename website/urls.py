from django.contrib.sitemaps.views import sitemap
from django.urls import path, re_path

from privacy.models import POLICY_LABEL_PATTERN

from . import views
from .feeds import BlogFeed
from .sitemaps import SITEMAPS

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
    path("blog/", views.blog, name="blog"),
    path("blog/feed/", views.reading_page(BlogFeed()), name="blog_feed"),
    path("blog/<slug:slug>/", views.blog_post, name="blog_post"),
    path("blog/<slug:slug>/cover/", views.blog_cover, name="blog_cover"),
    path(
        "sitemap.xml",
        views.reading_page(sitemap),
        {"sitemaps": SITEMAPS},
        name="sitemap",
    ),
    path("robots.txt", views.robots_txt, name="robots_txt"),
]
