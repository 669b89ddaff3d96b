"""Responses of the signed-in area, and every response to a signed-in user, say
`Cache-Control: private, no-store` (no shared cache or browser disk keeps Client Data);
public pages to visitors stay cacheable."""

import pytest
from django import test as django_test
from django.urls import reverse
from django.utils.cache import patch_cache_control

from tests.prospects.objects import client_objects


def _directives(response) -> set[str]:
    return {d.strip().lower() for d in response.get("Cache-Control", "").split(",") if d.strip()}


def _is_private(response) -> bool:
    vary = {v.strip().lower() for v in response.get("Vary", "").split(",")}
    return {"private", "no-store"} <= _directives(response) and "cookie" in vary


@pytest.fixture
def own(personas):
    return client_objects(personas.client_a, personas.alice, label="A")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("prospects:export", None),  # the CSV export, streamed
        ("prospects:data_export", "prospect"),  # the prospect's ZIP for an access request
        ("prospects:import_errors", "job"),  # the import error report, streamed
        ("prospects:detail", "prospect"),
        ("prospects:list", None),
        ("prospects:file", "file"),  # a file download
        ("prospects:import_map", "job"),
        ("prospects:import_values", "job"),
        ("admin_tasks:users", None),
        ("privacy:closure", None),
        ("account_settings", None),
        ("dashboard", None),
        ("privacy:archives", None),  # the user's copies of their data
        ("privacy:support_access", None),
        ("privacy:account_privacy", None),
        ("privacy:client_requests", None),
    ],
)
def test_pages_and_downloads_of_the_signed_in_area_are_private_and_not_stored(
    client, personas, own, name, kind
):
    client.force_login(personas.alice)
    url = reverse(name, args=[own[kind].public_id] if kind else [])
    response = client.get(url)
    assert response.status_code == 200, url
    assert _is_private(response), (url, response.get("Cache-Control"), response.get("Vary"))


@pytest.mark.django_db
def test_an_error_page_and_a_redirect_of_the_signed_in_area_are_private_too(client, personas):
    client.force_login(personas.bob)  # a member: Admin tasks is a 403 page
    assert _is_private(client.get(reverse("admin_tasks:users")))
    assert _is_private(client.get("/app/prospects/00000000-0000-0000-0000-000000000000/"))
    visitor = django_test.Client()
    assert _is_private(visitor.get(reverse("prospects:list")))  # the redirect to sign in
    assert _is_private(visitor.get("/accounts/login/"))
    assert _is_private(visitor.get("/admin/login/"))


@pytest.mark.django_db
def test_a_public_page_is_private_only_to_a_signed_in_user(client, personas):
    home = reverse("home")
    assert not {"private", "no-store"} & _directives(client.get(home))
    assert not {"private", "no-store"} & _directives(client.get(reverse("privacy")))
    client.force_login(personas.bob)  # the page may show who is signed in
    assert _is_private(client.get(home))


@pytest.mark.django_db
def test_a_view_that_asked_for_public_caching_is_made_private(rf, personas):
    from django.http import HttpResponse

    from opsx.middleware import PrivateNoStoreMiddleware

    def view(request):
        response = HttpResponse("data")
        patch_cache_control(response, public=True, max_age=3600)
        return response

    request = rf.get("/app/something/")
    request.user = personas.bob
    directives = _directives(PrivateNoStoreMiddleware(view)(request))
    assert {"private", "no-store"} <= directives and "public" not in directives
