"""The user's own side of an account deletion: cancelling it before it runs."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from opsx.forms import flash_refusal

from .. import deletion
from ..decorators import account_required
from ..models import PrivacyRequest


@require_POST
@account_required
def cancel_deletion(request, public_id):
    # Only the signed-in user's own deletion requests: anyone else's id is a 404.
    privacy_request = get_object_or_404(
        PrivacyRequest.objects.filter(requester=request.user, kind=PrivacyRequest.Kind.DELETION),
        public_id=public_id,
    )
    try:
        deletion.deletion_cancel(request=privacy_request, actor=request.user)
    except ValidationError as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, "Your account deletion is cancelled. Nothing was erased.")
    return redirect("privacy:account_request", privacy_request.public_id)
