"""The person's pages for their testimonial: the consent links (approve or decline) and the
withdrawal link. No sign-in: the signed link is the proof. A GET only shows (mail scanners
follow GETs); the answer is a POST from the page."""

from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_http_methods

from opsx import images

from .. import testimonials
from ..models import Testimonial

ANSWERS = {"approve": True, "decline": False}


def _refused(request, exc: testimonials.ConsentLinkError):
    return render(
        request, "privacy/testimonial_link_invalid.html", {"reason": str(exc)}, status=exc.status
    )


@never_cache  # a bearer link: no cache keeps the page
@require_http_methods(["GET", "POST"])
def testimonial_consent(request, token, answer):
    if answer not in ANSWERS:
        raise Http404
    try:
        testimonial, version = testimonials.from_consent_token(token)
        if request.method == "POST":
            testimonials.consent_answer(
                testimonial=testimonial, version=version, approve=ANSWERS[answer]
            )
            return redirect("privacy:testimonial_consent", token, answer)
    except testimonials.ConsentLinkError as exc:
        return _refused(request, exc)
    context = {"testimonial": testimonial, "token": token, "answer": answer}
    return render(request, "privacy/testimonial_consent.html", context)


@never_cache
def testimonial_consent_photo(request, token):
    """The photo as the person is asked to approve it (the link is the key: unpublished)."""
    try:
        testimonial, _version = testimonials.from_consent_token(token)
    except testimonials.ConsentLinkError as exc:
        return _refused(request, exc)
    return photo_response(testimonial)


@never_cache
@require_http_methods(["GET", "POST"])
def testimonial_withdraw(request, token):
    try:
        testimonial = testimonials.from_withdraw_token(token)
    except testimonials.ConsentLinkError as exc:
        return _refused(request, exc)
    if request.method == "POST":
        testimonials.testimonial_withdraw(testimonial, actor=None)
        return redirect("privacy:testimonial_withdraw", token)
    return render(request, "privacy/testimonial_withdraw.html", {"testimonial": testimonial})


# A withdrawn testimonial leaves the site at once: no cache may answer for us after it.
@cache_control(no_cache=True, max_age=0)
def testimonial_photo(request, public_id):
    """A published testimonial's photo, for the public page; 404 for any other."""
    return photo_response(testimonials.published_photo(public_id))


def photo_response(testimonial: Testimonial | None) -> FileResponse:
    """The photo's bytes inline, typed from its content; 404 when there is none."""
    return images.response(testimonial.photo if testimonial is not None else None)
