from django.conf import settings
from django.core.paginator import InvalidPage, Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import quote_etag
from django.views.decorators.cache import cache_control

from opsx import access_log, images, markdown
from privacy import policies, testimonials
from privacy.models import PolicyVersion

from . import blog as blog_posts
from . import blog_comments, cookies, queries

# The reading pages write nothing: no request transaction (ATOMIC_REQUESTS), so a static
# page never opens a database connection.
reading_page = transaction.non_atomic_requests


@reading_page
def home(request):
    return render(request, "website/home.html")


def privacy(request):
    """The policy in effect today, every earlier version with its dates, and a coming change.
    Public and cookie-free: no form, no session written."""
    today = timezone.localdate()
    timeline = policies.policy_timeline(today)
    context = {"timeline": timeline, "today": today, "log_fields": access_log.FIELDS.items()}
    return render(request, "website/privacy.html", context)


def privacy_version(request, label):
    """One published version (a draft or an unknown label is a 404)."""
    try:
        version = policies.policy_published(label)
    except PolicyVersion.DoesNotExist:
        raise Http404("No published privacy policy version has this label.") from None
    today = timezone.localdate()
    context = {
        "version": version,
        "until": policies.policy_validity(version),
        "today": today,
    }
    return render(request, "website/privacy_version.html", context)


# A withdrawn testimonial leaves the page at once: no cache may answer for us after it.
@cache_control(no_cache=True, max_age=0)
def testimonials_page(request):
    """Published testimonials, newest first: one query."""
    return render(
        request, "website/testimonials.html", {"testimonials": list(testimonials.published())}
    )


@reading_page
def product(request):
    return render(request, "website/product.html")


@reading_page
def pricing(request):
    return render(request, "website/pricing.html")


@reading_page
def contact(request):
    return render(request, "website/contact.html", {"contact_email": settings.CONTACT_EMAIL})


@reading_page
def terms(request):
    return render(request, "website/terms.html", {"contact_email": settings.CONTACT_EMAIL})


@reading_page
def subprocessors(request):
    """The active subprocessors: one query."""
    return render(
        request,
        "website/subprocessors.html",
        {"subprocessors": list(queries.subprocessors_listed())},
    )


@reading_page
def cookies_page(request):
    return render(request, "website/cookies.html", {"cookies": cookies.app_cookies()})


# --- the blog -----------------------------------------------------------------------------

BLOG_PAGE_SIZE = 10


def absolute(path: str) -> str:
    """`path` on our own host (SITE_URL), for links that leave the page: canonical, Open
    Graph, the feed and the sitemap never name whatever Host header a request carried."""
    return settings.SITE_URL + path


@reading_page
def blog(request):
    """The posts on the site, newest first, 10 a page: two queries (the count and the page).
    Any page number that is not one of the pages (garbage, 0, negative, huge) is a 404."""
    paginator = Paginator(blog_posts.published_posts(), BLOG_PAGE_SIZE)
    try:
        page = paginator.page(request.GET.get("page", 1))
    except InvalidPage:
        raise Http404("No such page of the blog.") from None
    canonical = reverse("blog") + (f"?page={page.number}" if page.number > 1 else "")
    context = {"page": page, "posts": list(page.object_list), "canonical_url": absolute(canonical)}
    return render(request, "website/blog/list.html", context)


@reading_page
def blog_post(request, slug):
    """One post on the site; a draft, a post whose time has not come or an unknown slug 404s."""
    post = blog_posts.published_post(slug)
    if post is None:
        raise Http404("No post at this address.")
    context = {
        "post": post,
        "body": markdown.render(post.body),
        "canonical_url": absolute(reverse("blog_post", args=[post.slug])),
        "cover_url": absolute(reverse("blog_cover", args=[post.slug])) if post.cover else "",
        **blog_comments.comment_section(request, post),
    }
    return render(request, "website/blog/post.html", context)


# A cover leaves the site with its post within this time; its ETag (the stored name, random
# per upload) makes revalidation a 304.
COVER_MAX_AGE = 300


@cache_control(public=True, max_age=COVER_MAX_AGE)
@reading_page
def blog_cover(request, slug):
    """The cover of a post on the site; 404 for a draft's, a scheduled post's or none."""
    post = blog_posts.published_cover(slug)
    if post is None:
        raise Http404("No cover.")
    etag = quote_etag(post.cover.name)
    not_modified = get_conditional_response(request, etag=etag)
    response = not_modified or images.response(post.cover)
    response["ETag"] = etag
    return response


@reading_page
def robots_txt(request):
    context = {"sitemap_url": absolute(reverse("sitemap"))}
    return render(request, "website/robots.txt", context, content_type="text/plain")
