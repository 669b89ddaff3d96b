"""The API's documents: the OpenAPI document and its docs page, from our own origin."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_the_openapi_document_lists_the_field_work_operations(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/v1/me", "/api/v1/devices", "/api/v1/prospects", "/api/v1/visits"):
        assert path in paths, sorted(paths)


def test_the_docs_page_loads_nothing_from_another_host(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle" in page
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    # Nothing inline to run: the strict Content-Security-Policy stays as it is.
    assert "<script>" not in page
