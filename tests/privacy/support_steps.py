"""Shared steps of the support access tests."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from privacy import support
from privacy.models import SupportGrant


def grant(user, *, days=3, allow_downloads=False, note="") -> SupportGrant:
    return support.support_grant(
        user=user, days=days, allow_downloads=allow_downloads, note=note, actor=user
    )


def start_view(client, grant_obj):
    return client.post(reverse("admin:privacy_supportgrant_view_as", args=[grant_obj.public_id]))


def expire(grant_obj) -> None:
    now = timezone.now()
    SupportGrant.objects.filter(pk=grant_obj.pk).update(
        granted_at=now - timedelta(days=2), expires_at=now - timedelta(minutes=1)
    )
