from django.contrib.sitemaps.views import sitemap
from django.urls import path, re_path

from privacy.models import POLICY_LABEL_PATTERN

from . import blog_comments, forum_views, views
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
    # --- the community forum ---
    path("forum/", forum_views.index, name="forum"),
    path("forum/c/<slug:slug>/", forum_views.category, name="forum_category"),
    path("forum/c/<slug:slug>/new/", forum_views.topic_new, name="forum_topic_new"),
    path("forum/t/<int:pk>/reply/", forum_views.reply, name="forum_reply"),
    path("forum/t/<int:pk>/<str:slug>/", forum_views.topic, name="forum_topic"),
    path("forum/p/<uuid:public_id>/edit/", forum_views.post_edit, name="forum_post_edit"),
    path("forum/p/<uuid:public_id>/delete/", forum_views.post_delete, name="forum_post_delete"),
    path("forum/p/<uuid:public_id>/flag/", forum_views.post_flag, name="forum_post_flag"),
    # --- comments on blog posts (the post page itself is the blog's) ---
    path("blog/<slug:slug>/comments/", blog_comments.comment_new, name="blog_comment_new"),
    path(
        "blog/comments/<uuid:public_id>/edit/",
        blog_comments.comment_edit,
        name="blog_comment_edit",
    ),
    path(
        "blog/comments/<uuid:public_id>/delete/",
        blog_comments.comment_delete,
        name="blog_comment_delete",
    ),
    path(
        "blog/comments/<uuid:public_id>/flag/",
        blog_comments.comment_flag,
        name="blog_comment_flag",
    ),
]
