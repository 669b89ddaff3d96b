"""What every view that shows and handles a form shares."""

from django.contrib import messages
from django.core.exceptions import ValidationError


def posted(request, *, files: bool = False):
    """The form data of a POST, else None: `Form(posted(request))` is bound on every POST, even
    an empty one (which then reports its missing fields; `request.POST or None` would leave it
    unbound and silent), and unbound on a GET. `files=True`: the uploaded files instead."""
    if request.method != "POST":
        return None
    return request.FILES if files else request.POST


def flash_refusal(request, exc: ValidationError) -> None:
    """A service's refusal (its ValidationError) as one error message on the next page, for the
    views that redirect rather than show a form: every message of `exc`, joined by spaces."""
    messages.error(request, " ".join(exc.messages))
