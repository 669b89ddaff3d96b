from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import cache_control

from opsx import access_log
from privacy import policies, testimonials
from privacy.models import PolicyVersion


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
