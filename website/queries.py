from django.db.models import QuerySet

from .models import Subprocessor


def subprocessors_listed() -> QuerySet[Subprocessor]:
    """The subprocessors the public page lists, in staff's order."""
    return Subprocessor.objects.filter(active=True).order_by("order", "name")
