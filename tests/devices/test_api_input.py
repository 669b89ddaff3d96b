"""Input every operation of the mobile API refuses with a clear answer, never a 500: NUL
characters (PostgreSQL cannot store them), session tokens that cannot be ours, bodies that
are not JSON; and the OpenAPI document declares the answers the API gives."""

import pytest

from tests.factories import PASSWORD

from .helpers import api, signed_in_device

pytestmark = pytest.mark.django_db


def test_a_nul_character_in_a_json_field_is_a_validation_error(client, personas):
    token = signed_in_device(client, personas.bob)
    response = api(
        client, "patch", "/api/v1/devices/current", token, {"device_model": "Pixel\x00 8"}
    )
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "validation"
    assert list(error["fields"]) == ["device_model"]
    assert "NUL" in error["fields"]["device_model"][0]
    assert error["message"].startswith("device_model: ")
    current = api(client, "get", "/api/v1/devices/current", token).json()
    assert current["device_model"] == ""  # nothing was written


def test_a_nul_character_in_a_query_parameter_is_a_validation_error(client, personas):
    token = signed_in_device(client, personas.bob)
    response = api(client, "get", "/api/v1/sync?since=abc%00def", token)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["fields"] == {"since": ["Null characters are not allowed."]}


def test_text_that_merely_looks_like_an_escape_is_kept(client, personas):
    token = signed_in_device(client, personas.bob)
    response = api(
        client, "patch", "/api/v1/devices/current", token, {"device_model": "\\u0000 <b>"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["device_model"] == "\\u0000 <b>"


@pytest.mark.parametrize(
    "token",
    [
        "x" * 5000,
        "abc\x00defghijk",
        "<script>alert(1)</script>",
        "A" * 32,
        "0123456789abcdefghijklmnopqrstuv",  # the shape of one, but no session
    ],
)
def test_a_token_that_cannot_be_a_session_is_not_signed_in(client, personas, token):
    response = client.get("/api/v1/me", HTTP_X_SESSION_TOKEN=token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_signed_in"


def test_a_body_that_is_not_json_says_so(client, personas):
    token = signed_in_device(client, personas.bob)
    response = client.patch(
        "/api/v1/devices/current",
        "device_model=Pixel",
        content_type="application/json",
        HTTP_X_SESSION_TOKEN=token,
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_json"
    assert error["message"].startswith("The request body is not valid JSON")


def test_the_document_declares_the_common_errors_and_the_token_header(client):
    document = client.get("/api/v1/openapi.json").json()
    scheme = document["components"]["securitySchemes"]["DeviceAuth"]
    assert scheme == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Session-Token",
        "description": "The session token from POST /_allauth/app/v1/auth/login.",
    }
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            declared = set(operation["responses"])
            assert {"400", "404", "422"} <= declared, (method, path)
            if operation.get("security"):
                assert {"401", "403"} <= declared, (method, path)
    sync = document["paths"]["/api/v1/sync"]["get"]["responses"]
    assert sync["410"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorOut"
    }


def test_the_app_sign_in_names_the_user_by_public_id_not_the_row_counter(client, personas):
    response = client.post(
        "/_allauth/app/v1/auth/login",
        {"email": personas.bob.email, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200
    user = response.json()["data"]["user"]
    assert user["id"] == str(personas.bob.public_id)
    assert user["id"] != personas.bob.pk and str(personas.bob.pk) != user["id"]
