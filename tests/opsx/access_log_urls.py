"""The project's URLs and one view that raises, for the access log's 500 test."""

from django.urls import path

from opsx.urls import urlpatterns as project_urlpatterns


def boom(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [path("boom/", boom), *project_urlpatterns]
