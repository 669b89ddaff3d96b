from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import cache_control

from opsx import access_log
from privacy import policies, testimonials
from privacy.models import PolicyVersion

from . import cookies, queries

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
