"""Access to the privacy pages of a signed-in user's own account."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render


def account_required(view):
    """Signed in as a client's user. Unlike clients.decorators.client_member_required the view
    runs unscoped (the connection role, as allauth's account pages do): a user's own privacy
    requests, archives and support grants are no client's data (most have no client key, so
    a client's scope would hide them). The view must read only rows keyed to request.user."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request.user.client_id is None:
            return render(request, "clients/refused.html", {"reason": "no_client"}, status=403)
        return view(request, *args, **kwargs)

    return wrapper
