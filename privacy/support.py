"""Support access: a user lets HexCM support look at their account, read-only, for a while.

The user grants access from their account pages (`support_grant`, 1 to SUPPORT_GRANT_MAX_DAYS
days, downloads of Client Data allowed or not) and may revoke it (`support_revoke`). While a
grant is active, staff start a support view from Django admin (`support_view_start`) and then
browse the user's restricted area as that user; `SupportViewMiddleware` is the guard.

Why a view of our own and not django-hijack 3.7 with a read-only guard:

- hijack switches identities with `django.contrib.auth.login()`. Signing in as another user
  flushes the session (Django will not reuse one user's session for another), so the staff
  member's own session, with allauth's record of their sign-in and MFA, is thrown away when the
  view starts and rebuilt by a second `login()` at release: their session is not restored,
  it is replaced, twice. `login()` also fires `user_logged_in`, on which allauth's
  usersessions records a session *for the impersonated user* (it appears in their "Sessions"
  page and in their access archive) and which updates `last_login` unless hijack disconnects
  that one receiver; the user's sign-in records would no longer be theirs alone.
- The guard is most of the work either way: the grant check on every request, GET/HEAD only,
  downloads of Client Data, refusing admin and the security pages, the log of every page.
  hijack would add a dependency, its permission hook, its own acquire/release views and
  notification template (to be restyled for our CSP), for the part we need least.
- Our way, staff stay signed in as themselves: the session keeps their identity and only
  carries a marker (SESSION_KEY: the grant and the staff member). For each request inside the
  user's area the middleware checks the grant and sets `request.user` to the user for that
  request only, so every page, decorator and tenant scope (clients.decorators opens the
  user's client's row-level security scope from request.user) is the user's real page, and
  nothing about the user's sessions or last_login changes. Stopping removes the marker.

The guard, while a support view is open (see SupportViewMiddleware):

- the grant is read on every request: once it has expired or been revoked (or the user was
  deactivated, or the staff member lost staff status) the view ends at that request and staff
  land back in admin with a message; this is how a revocation ends a view at once;
- only GET and HEAD reach the user's pages; anything else is a 403 "read-only support view";
  and whatever a GET might write is rolled back (the view runs in a transaction that is never
  committed), so a read-only view cannot change the account even through a page that writes
  on GET;
- downloads of Client Data (prospect files, the prospects CSV export, a prospect's data ZIP,
  an import's error report; and any other response sent as an attachment) are refused unless
  the grant allows downloads;
- Django admin and allauth's pages (email, password, two-factor, sessions...) are refused;
  sign-out and "stop" always work, as the staff member;
- every request served, refused ones included, is written to SupportAccessLog (method, path
  without its query string, status, staff, grant) and listed to the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve
from django.utils import timezone

from accounts.models import User
from clients import audit
from clients.models import AuditEvent

from .models import SupportAccessLog, SupportGrant

Action = AuditEvent.Action

# The session marker of a support view in progress: {"grant": public id, "staff": pk}.
SESSION_KEY = "opsx_support_view"

# What a support view may always do, as the staff member themselves.
ALWAYS_OPEN = frozenset({"privacy:support_view_stop", "account_logout"})
# Downloads of Client Data (prospects/urls.py); refused unless the grant allows downloads.
DOWNLOADS = frozenset(
    {"prospects:file", "prospects:export", "prospects:data_export", "prospects:import_errors"}
)
# The copy of the person's own data they asked for: theirs alone, whatever the grant says
# (downloads of Client Data are the company's to allow; this is not Client Data). Opening it
# would also count as their download and close their request.
PERSONAL_DOWNLOADS = frozenset({"privacy:archive_download", "privacy:archive_signed"})
# Never inside a support view: Django admin, and allauth's account and security pages.
REFUSED_PREFIXES = ("/admin/", "/accounts/")
READ_METHODS = frozenset({"GET", "HEAD"})
LOG_LIMIT = 200  # rows of the log shown to the user


# --- grants ---------------------------------------------------------------------------


def grant_is_active(grant: SupportGrant, now=None) -> bool:
    now = now or timezone.now()
    return grant.revoked_at is None and grant.expires_at > now


def active_grant(user: User) -> SupportGrant | None:
    """The user's grant in effect now, if any (at most one: a new grant ends the previous)."""
    return (
        SupportGrant.objects.filter(
            user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )
        .order_by("-granted_at")
        .first()
    )


def support_grant(
    *, user: User, days: int, allow_downloads: bool, note: str, actor: User
) -> SupportGrant:
    """`user` lets support look at their account for `days` days (1..SUPPORT_GRANT_MAX_DAYS),
    downloads of Client Data allowed or not. Ends the user's active grant, if any: one at a time.
    Only the user may grant access to their own account."""
    if actor.pk != user.pk:
        raise PermissionDenied("Only the user may grant support access to their account.")
    longest = settings.SUPPORT_GRANT_MAX_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= longest:
        raise ValidationError(f"Support access lasts from 1 to {longest} days.", code="days")
    now = timezone.now()
    with transaction.atomic():
        # the user's row locked: two grants at once cannot both stay active
        User.objects.select_for_update().only("pk").get(pk=user.pk)
        SupportGrant.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=now).update(
            revoked_at=now
        )
        grant = SupportGrant.objects.create(
            user=user,
            granted_at=now,
            expires_at=now + timedelta(days=days),
            allow_downloads=bool(allow_downloads),
            note=note.strip(),
        )
        audit.record(
            actor=actor,
            action=Action.SUPPORT_GRANTED,
            target=grant,
            client=audit.NO_CLIENT,
            counts={"days": days},
        )
    return grant


def support_revoke(*, grant: SupportGrant, actor: User) -> SupportGrant:
    """End `grant` now. A support view in progress under it ends at its next request (the
    middleware reads the grant on every request). Revoking an ended grant changes nothing."""
    if actor.pk != grant.user_id:
        raise PermissionDenied("Only the user may revoke support access to their account.")
    with transaction.atomic():
        grant = SupportGrant.objects.select_for_update().get(pk=grant.pk)
        if not grant_is_active(grant):
            return grant
        grant.revoked_at = timezone.now()
        grant.save(update_fields=["revoked_at"])
        audit.record(
            actor=actor, action=Action.SUPPORT_REVOKED, target=grant, client=audit.NO_CLIENT
        )
    return grant


def support_access_log(user: User):
    """The pages support viewed under the user's grants, most recent first (LOG_LIMIT rows, one
    query with the staff member)."""
    return (
        SupportAccessLog.objects.filter(grant__user=user)
        .select_related("staff")
        .only("at", "method", "path", "status_code", "staff__full_name", "staff__email")
        .order_by("-at", "-pk")[:LOG_LIMIT]
    )


# --- the support view -----------------------------------------------------------------


def _is_support_staff(user) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.client_id is None
    )


def support_view_start(*, grant_id, staff: User) -> SupportGrant:
    """Staff open a read-only view of the account under the grant `grant_id` (a public id).
    Refused (PermissionDenied) unless `staff` is active HexCM staff and the grant is active
    now. Records SUPPORT_VIEW_STARTED; the caller then marks the session (`view_enter`)."""
    if not _is_support_staff(staff):
        raise PermissionDenied("Only HexCM staff open a support view.")
    with transaction.atomic():
        grant = (
            SupportGrant.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(public_id=grant_id)
            .first()
        )
        if grant is None or not grant_is_active(grant) or not grant.user.is_active:
            raise PermissionDenied("There is no active support access grant for this account.")
        audit.record(
            actor=staff,
            action=Action.SUPPORT_VIEW_STARTED,
            target=grant,
            client=grant.user.client_id,
        )
    return grant


def view_enter(request, grant: SupportGrant) -> None:
    request.session[SESSION_KEY] = {"grant": str(grant.public_id), "staff": request.user.pk}


def view_leave(request) -> bool:
    """Remove the support view marker from the session; whether there was one."""
    return request.session.pop(SESSION_KEY, None) is not None


@dataclass(frozen=True)
class SupportView:
    """What a request inside a support view carries as `request.support_view`."""

    grant: SupportGrant
    staff: User

    @property
    def user(self) -> User:
        return self.grant.user


def _live_grant(state, staff) -> SupportGrant | None:
    if not isinstance(state, dict) or not _is_support_staff(staff):
        return None
    if state.get("staff") != staff.pk:
        return None
    grant = (
        SupportGrant.objects.select_related("user", "user__client")
        .filter(
            public_id=state.get("grant"), revoked_at__isnull=True, expires_at__gt=timezone.now()
        )
        .first()
    )
    if grant is None or not grant.user.is_active or grant.user.client_id is None:
        return None
    return grant


def _view_name(request) -> str | None:
    try:
        return resolve(request.path_info).view_name
    except Resolver404:
        return None


def _refusal_reason(request, grant: SupportGrant, name: str | None) -> str | None:
    if request.path_info.startswith(REFUSED_PREFIXES):
        return "area"
    if request.method not in READ_METHODS:
        return "read_only"
    if name in PERSONAL_DOWNLOADS:
        return "personal_download"
    if name in DOWNLOADS and not grant.allow_downloads:
        return "download"
    return None


def _is_download(response) -> bool:
    if isinstance(response, (FileResponse, StreamingHttpResponse)):
        return True
    return "attachment" in response.get("Content-Disposition", "").lower()


def _discard(response) -> None:
    """Close what a refused response holds (an open file, a generator's cursor). Not
    response.close(): that also sends request_finished, which closes the database connection
    in the middle of the request (the log is still to be written)."""
    closers = getattr(response, "_resource_closers", [])
    for close in closers:
        close()
    closers.clear()


def _refused(request, reason: str):
    return render(request, "privacy/support_refused.html", {"reason": reason}, status=403)


class SupportViewMiddleware:
    """The guard of a support view (see the module docstring). Sits after allauth's
    UserSessionsMiddleware (which must see the staff member, not the user) and before
    clients.middleware.ClientMiddleware (which reads request.client from request.user)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.support_view = None
        session = getattr(request, "session", None)
        if session is None or settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return self.get_response(request)  # a visitor without a session: nothing to read
        state = session.get(SESSION_KEY)
        if state is None:
            return self.get_response(request)

        staff = request.user
        grant = _live_grant(state, staff)
        if grant is None:
            # expired, revoked, or no longer valid: the view ends here, staff go back to admin
            view_leave(request)
            messages.warning(
                request, "The support view has ended: the user's support access is over."
            )
            if _is_support_staff(staff):
                return redirect("admin:privacy_supportgrant_changelist")
            return redirect("home")

        request.support_view = SupportView(grant=grant, staff=staff)
        name = _view_name(request)
        if name in ALWAYS_OPEN:
            response = self.get_response(request)  # as the staff member
        else:
            response = self._as_user(request, grant, name)
        _log(request, grant, staff, response.status_code)
        return response

    def _as_user(self, request, grant, name):
        user = grant.user
        request.user = user

        async def auser():
            return user

        request.auser = auser
        reason = _refusal_reason(request, grant, name)
        if reason is not None:
            return _refused(request, reason)
        # Read-only underneath too: whatever the page writes is rolled back.
        with transaction.atomic():
            response = self.get_response(request)
            transaction.set_rollback(True)
        if not grant.allow_downloads and _is_download(response):
            _discard(response)
            return _refused(request, "download")
        return response


def _log(request, grant: SupportGrant, staff: User, status: int) -> None:
    SupportAccessLog.objects.create(
        grant=grant,
        staff=staff,
        at=timezone.now(),
        method=request.method[:10],
        path=request.path[:500],
        status_code=status,
    )
