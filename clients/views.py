from django.shortcuts import render

from . import queries
from .decorators import client_admin_required


@client_admin_required
def usage(request):
    """The client's own usage: the charts and the benchmark staff see (admins only)."""
    return render(request, "clients/usage.html", queries.usage_context(request.client))
