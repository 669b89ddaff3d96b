"""The dismiss button of a notice's banner (privacy/notices.py has the rules)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .. import notices


@require_POST
@login_required
def notice_dismiss(request, public_id):
    notices.notice_dismiss(public_id=public_id, user=request.user)
    back = request.POST.get("next", "")
    if len(back) > 2000 or not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = "dashboard"
    return redirect(back)
