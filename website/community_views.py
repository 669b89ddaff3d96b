"""The pages every community post shares, forum post or blog comment: edit, delete and flag
(website.community does the work). The forum's and the blog's views look the post up and say
where to go back to."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from opsx.forms import posted

from . import community
from .community_forms import EditForm, FlagForm
from .models import BlogComment


def refusal_status(exc: ValidationError) -> int:
    return 429 if getattr(exc, "code", None) == "rate_limited" else 400


def submit(request, form, act, *, success: str, then) -> tuple[HttpResponse | None, int]:
    """The posting pages' one flow: on a valid POST run `act(cleaned_data)` (a service) and
    redirect to `then(its result)` with `success` said; a refusal goes on the form. Returns
    (the redirect, or None to render the form again) and the status to render it with: 200
    for a GET, 400 for bad input or a refusal, 429 past the rate limit."""
    if request.method != "POST":
        return None, 200
    if not form.is_valid():
        return None, 400
    try:
        result = act(form.cleaned_data)
    except ValidationError as exc:
        form.add_error(None, exc)
        return None, refusal_status(exc)
    if success:
        messages.success(request, success)
    return redirect(then(result)), 302


def own(post, user):
    """`post` if `user` wrote it, else Http404: another person's post answers as if it did not
    exist, so its address tells nobody whose it is."""
    try:
        community.require_author(post, user)
    except PermissionDenied:
        raise Http404("No such post of yours.") from None
    return post


def edit(request, post, *, back: str, what: str):
    post = own(post, request.user)
    form = EditForm(posted(request), initial={"body": post.body})
    done, status = submit(
        request,
        form,
        lambda data: community.post_edit(post=post, body=data["body"], actor=request.user),
        success=f"Your {what} is saved.",
        then=lambda _: back,
    )
    if done:
        return done
    context = {"form": form, "back": back, "what": what, "notice": community.PUBLIC_NOTICE}
    return render(request, "website/community/edit.html", context, status=status)


def delete(request, post, *, back: str, what: str):
    post = own(post, request.user)
    error = ""
    if request.method == "POST":
        try:
            community.post_delete(post=post, actor=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, f"Your {what} is deleted.")
            return redirect(back)
    context = {"back": back, "what": what, "error": error}
    return render(request, "website/community/delete.html", context, status=400 if error else 200)


def flag(request, post, *, back: str, what: str):
    if post.hidden:
        raise Http404("This post is hidden.")
    form = FlagForm(posted(request))
    done, status = submit(
        request,
        form,
        lambda data: community.post_flag(post=post, actor=request.user, **data),
        success="Thank you: staff will look at this post.",
        then=lambda _: back,
    )
    if done:
        return done
    context = {
        "form": form,
        "back": back,
        "what": what,
        "shown": community.shown(post, None),
        "kind": "blog" if isinstance(post, BlogComment) else "forum",
    }
    return render(request, "website/community/flag.html", context, status=status)
