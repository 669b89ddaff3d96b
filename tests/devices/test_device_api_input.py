"""Bad input to the device endpoints and to the session token: every answer is a JSON error in
the one shape of devices/api/errors.py, says what is wrong, writes nothing, and is never a 500."""

import json

import pytest
from django.test import Client as Browser

from devices.models import Device

from .helpers import signed_in_device

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Every test makes the personas and signs in: Argon2 would spend most of the time here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


DEVICES = "/api/v1/devices"
CURRENT = "/api/v1/devices/current"
GOOD = {"installation_id": "phone-0002", "platform": "ios"}


@pytest.fixture
def app():
    return Browser(raise_request_exception=False)


@pytest.fixture
def token(app, personas):
    return signed_in_device(app, personas.bob, push_token="push-1")


def assert_error(response, status, code):
    """The one shape: {"error": {"code", "message", "fields"?}}, JSON, with a readable message."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and len(error["message"]) > 10
    assert set(error) <= {"code", "message", "fields"}
    if "fields" in error:
        assert all(
            isinstance(v, list) and all(isinstance(m, str) for m in v)
            for v in error["fields"].values()
        )
    return error


def post(app, token, body, content_type="application/json", path=DEVICES, method="post"):
    extra = {"HTTP_X_SESSION_TOKEN": token} if token else {}
    if not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    return getattr(app, method)(path, body, content_type=content_type, **extra)


def patch(app, token, body, content_type="application/json"):
    return post(app, token, body, content_type, path=CURRENT, method="patch")


# --- the token -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [("get", "/api/v1/me"), ("get", "/api/v1/ping"), ("get", CURRENT), ("delete", CURRENT)],
)
def test_no_token_is_a_401_saying_how_to_sign_in(app, db, method, path):
    error = assert_error(getattr(app, method)(path), 401, "not_signed_in")
    assert "X-Session-Token" in error["message"]


def test_no_token_on_a_write_is_a_401_too(app, db):
    assert_error(post(app, None, GOOD), 401, "not_signed_in")
    assert_error(patch(app, None, {"push_token": "x"}), 401, "not_signed_in")
    assert not Device.objects.exists()


@pytest.mark.parametrize(
    "bad",
    [
        "garbage",
        "x" * 5000,
        "a" * 32 + "\x00",
        "\x00",
        "abc def ghi jkl",
        "Bearer abcdefghijklmnopqrstuvwxyz012345",
        "ÄÖÜäöüß" * 5,
        "abcdefghijklmnopqrstuvwxyz012345",  # well formed, but no such session
        "'; DROP TABLE devices_device; --",
        "../../../../etc/passwd",
    ],
)
def test_a_malformed_or_unknown_token_is_a_401(app, token, bad):
    assert_error(app.get("/api/v1/me", HTTP_X_SESSION_TOKEN=bad), 401, "not_signed_in")
    assert_error(post(app, bad, GOOD), 401, "not_signed_in")
    assert Device.objects.count() == 1


@pytest.mark.parametrize("bad", ["a" * 32 + "\x00", "x" * 5000, "garbage"])
def test_allauths_own_endpoints_refuse_a_malformed_token_without_a_500(app, db, bad):
    response = app.get("/_allauth/app/v1/auth/session", HTTP_X_SESSION_TOKEN=bad)
    assert response.status_code in (401, 410), response.content[:300]
    response = app.delete("/_allauth/app/v1/auth/session", HTTP_X_SESSION_TOKEN=bad)
    assert response.status_code in (401, 410), response.content[:300]


def test_the_token_is_read_from_its_header_only(app, token):
    assert_error(app.get(f"/api/v1/me?session_token={token}"), 401, "not_signed_in")
    app.cookies["sessionid"] = token
    assert_error(app.get("/api/v1/me"), 401, "not_signed_in")


# --- the body ------------------------------------------------------------------------------


def test_an_unknown_field_is_named(app, token):
    error = assert_error(post(app, token, {**GOOD, "is_admin": True}), 422, "validation")
    assert error["fields"] == {"is_admin": ["This field is not part of the request."]}
    assert "is_admin" in error["message"]
    error = assert_error(patch(app, token, {"platform": "ios"}), 422, "validation")
    assert list(error["fields"]) == ["platform"]
    error = assert_error(patch(app, token, {"status": "active"}), 422, "validation")
    assert list(error["fields"]) == ["status"]
    assert Device.objects.get().status == "active" and Device.objects.count() == 1


@pytest.mark.parametrize(
    "field, value",
    [
        ("installation_id", 12345678),
        ("installation_id", None),
        ("installation_id", ["phone-0002"]),
        ("platform", ["ios"]),
        ("platform", 1),
        ("push_token", True),
        ("push_token", {"token": "x"}),
        ("app_version", 2.1),
        ("device_model", ["Pixel"]),
    ],
)
def test_a_wrong_type_names_the_field(app, token, field, value):
    error = assert_error(post(app, token, {**GOOD, field: value}), 422, "validation")
    assert field in error["fields"]
    assert Device.objects.count() == 1


@pytest.mark.parametrize("value", [5, True, ["x"], {"a": 1}])
def test_a_wrong_type_in_an_update_names_the_field(app, token, value):
    error = assert_error(patch(app, token, {"push_token": value}), 422, "validation")
    assert list(error["fields"]) == ["push_token"]
    assert Device.objects.get().push_token == "push-1"


@pytest.mark.parametrize("platform", ["windows", "Android", "IOS", "", " ios", "android\x00"])
def test_the_platform_is_android_or_ios(app, token, platform):
    error = assert_error(post(app, token, {**GOOD, "platform": platform}), 422, "validation")
    assert "'android' or 'ios'" in error["fields"]["platform"][0]


@pytest.mark.parametrize(
    "installation_id",
    [
        "phone\x00id-0002",
        "\x00" * 10,
        "phone id 0002",
        "<script>alert(1)</script>",
        "phone/../0002",
        "short",
        "x" * 65,
        "ünïcödé-0002",
    ],
)
def test_a_bad_installation_id_is_refused_with_a_reason(app, token, installation_id):
    body = {**GOOD, "installation_id": installation_id}
    error = assert_error(post(app, token, body), 422, "validation")
    [message] = error["fields"]["installation_id"]
    assert "pattern" not in message  # a person's words, not a regular expression
    assert Device.objects.count() == 1


@pytest.mark.parametrize("field", ["push_token", "app_version", "device_model"])
def test_nul_bytes_and_control_characters_in_text_are_refused(app, token, field):
    for value in ["a\x00b", "line\nbreak", "\x1b[31mred"]:
        error = assert_error(post(app, token, {**GOOD, field: value}), 422, "validation")
        assert "Control characters" in error["fields"][field][0]
        error = assert_error(patch(app, token, {field: value}), 422, "validation")
        assert "Control characters" in error["fields"][field][0]
    assert Device.objects.count() == 1


@pytest.mark.parametrize(
    "field, limit", [("push_token", 4096), ("app_version", 40), ("device_model", 100)]
)
def test_huge_strings_are_refused_with_the_limit(app, token, field, limit):
    error = assert_error(post(app, token, {**GOOD, field: "x" * (limit + 1)}), 422, "validation")
    assert str(limit) in error["fields"][field][0]
    error = assert_error(patch(app, token, {field: "y" * 100_000}), 422, "validation")
    assert str(limit) in error["fields"][field][0]
    # the limit itself is fine
    assert post(app, token, {**GOOD, field: "z" * limit}).status_code == 201


def test_a_body_over_the_upload_limit_is_a_413(app, token, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = {**GOOD, "device_model": "x" * 20_000}
    assert_error(post(app, token, body), 413, "too_large")


def test_hostile_text_is_kept_as_text(app, token):
    response = post(app, token, {**GOOD, "device_model": "<script>alert(1)</script>"})
    assert response.status_code == 201
    assert response.json()["device_model"] == "<script>alert(1)</script>"
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("application/x-www-form-urlencoded", "installation_id=phone-0002&platform=ios"),
        ("text/plain", json.dumps(GOOD)),
        ("multipart/form-data; boundary=xyz", "--xyz--"),
        ("application/xml", "<device/>"),
        ("", json.dumps(GOOD)),
    ],
)
def test_a_body_that_is_not_json_is_a_415(app, token, content_type, body):
    error = assert_error(post(app, token, body, content_type), 415, "unsupported_media_type")
    assert "application/json" in error["message"]
    error = assert_error(patch(app, token, body, content_type), 415, "unsupported_media_type")
    assert Device.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        "{bad",
        '{"installation_id": "phone-0002",}',
        "{'platform': 'ios'}",
        b"\xff\xfe\xfa",
        "[" * 100_000,
    ],
)
def test_invalid_json_is_a_400_saying_so(app, token, body):
    error = assert_error(post(app, token, body), 400, "invalid_json")
    assert "JSON" in error["message"] or "nested" in error["message"]
    assert_error(patch(app, token, body), 400, "invalid_json")


def test_a_number_with_too_many_digits_is_a_400(app, token):
    body = '{"push_token": 1' + "0" * 5000 + "}"
    error = assert_error(patch(app, token, body), 400, "invalid_json")
    assert "digits" in error["message"]


@pytest.mark.parametrize("body", ["[1, 2]", "null", '"ios"', "42", "true"])
def test_a_body_that_is_not_an_object_is_a_422(app, token, body):
    error = assert_error(post(app, token, body), 422, "validation")
    assert error["message"] == "The request body must be a JSON object."


def test_an_empty_body_is_a_422_asking_for_one(app, token):
    error = assert_error(post(app, token, ""), 422, "validation")
    assert error["message"] == "This request needs a JSON object as its body."
    error = assert_error(post(app, token, {}), 422, "validation")
    assert set(error["fields"]) == {"installation_id", "platform"}
    assert error["fields"]["platform"] == ["This field is required."]


def test_an_empty_update_changes_nothing(app, token):
    response = patch(app, token, {})
    assert response.status_code == 200
    assert Device.objects.get().push_token == "push-1"


def test_updating_without_a_registered_device_is_a_404(app, personas):
    from .helpers import app_sign_in

    token = app_sign_in(app, personas.alice)
    assert_error(patch(app, token, {"push_token": "x"}), 404, "device_not_registered")
    assert_error(app.get(CURRENT, HTTP_X_SESSION_TOKEN=token), 404, "device_not_registered")
    assert_error(app.delete(CURRENT, HTTP_X_SESSION_TOKEN=token), 404, "device_not_registered")
    assert_error(app.get("/api/v1/ping", HTTP_X_SESSION_TOKEN=token), 403, "device_not_registered")


# --- addresses -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v1/", "/api/v1/me/extra"])
def test_an_unknown_api_address_is_a_json_404(app, token, method, path):
    response = getattr(app, method)(path, HTTP_X_SESSION_TOKEN=token)
    assert_error(response, 404, "not_found")


def test_an_unknown_address_is_a_404_without_a_token_too(app, db):
    assert_error(
        app.post("/api/v1/nothing/here", "{}", content_type="application/json"), 404, "not_found"
    )


def test_a_method_an_address_does_not_take_is_a_json_405(app, db):
    response = app.post("/api/v1/prospects/nope", "{}", content_type="application/json")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]
