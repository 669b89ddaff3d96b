"""What every view that shows and handles a form shares."""


def posted(request, *, files: bool = False):
    """The form data of a POST, else None: `Form(posted(request))` is bound on every POST, even
    an empty one (which then reports its missing fields; `request.POST or None` would leave it
    unbound and silent), and unbound on a GET. `files=True`: the uploaded files instead."""
    if request.method != "POST":
        return None
    return request.FILES if files else request.POST
