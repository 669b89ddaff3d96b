"""Access to the restricted area: who may open a page, decided once per view."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render

from .tenancy import tenant_scope


def _refusal(request, reason: str):
    return render(request, "clients/refused.html", {"reason": reason}, status=403)


def client_member_required(view):
    """Signed in, belonging to a client, and that client not suspended. The view runs
    restricted to that client's rows (row-level security, clients/tenancy.py), inside the
    request's transaction (ATOMIC_REQUESTS wraps the view, not the middleware), which ends as
    the view returns: its COMMIT ends the scope."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request.client is None:
            return _refusal(request, "no_client")
        if not request.client.is_active:
            return _refusal(request, "suspended")
        with tenant_scope(request.client, ends_transaction=True):
            return view(request, *args, **kwargs)

    return wrapper


def client_admin_required(view):
    """As client_member_required, and the user is an admin of their client."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        # client_member_required (below) has let only active members of active clients in
        if not request.user.is_client_admin:
            return _refusal(request, "not_admin")
        return view(request, *args, **kwargs)

    return client_member_required(wrapper)


def own_data_required(view=None, *, allow_suspended: bool = False):
    """Signed in as a client's user, for a page of the user's own data (privacy requests,
    archives, referrals). Unlike client_member_required the view runs unscoped (the connection
    role, as allauth's account pages do): those rows are no client's data, most have no client
    key, and a client's scope would hide them. The view must read only rows keyed to
    request.user. `allow_suspended`: a suspended client's users may still open it (a privacy
    right does not end with the company's subscription)."""
    if view is None:
        return lambda view: own_data_required(view, allow_suspended=allow_suspended)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request.user.client_id is None:
            return _refusal(request, "no_client")
        if not allow_suspended and not request.client.is_active:
            return _refusal(request, "suspended")
        return view(request, *args, **kwargs)

    return wrapper
