"""Signing in as the mobile app does: allauth's headless API, then device registration."""

from tests.factories import PASSWORD

LOGIN = "/_allauth/app/v1/auth/login"


def app_sign_in(client, user, password=PASSWORD) -> str:
    """Sign in through the headless API; the session token."""
    response = client.post(
        LOGIN, {"email": user.email, "password": password}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()["meta"]["session_token"]


def register(client, token, installation_id="install-0001", platform="android", **fields):
    body = {"installation_id": installation_id, "platform": platform, **fields}
    return client.post(
        "/api/v1/devices", body, content_type="application/json", HTTP_X_SESSION_TOKEN=token
    )


def api(client, method, path, token, body=None, **headers):
    call = getattr(client, method)
    extra = {"HTTP_X_SESSION_TOKEN": token} if token else {}
    extra.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
    if body is None:
        return call(path, **extra)
    return call(path, body, content_type="application/json", **extra)


def signed_in_device(client, user, installation_id="install-0001", **fields) -> str:
    """Signed in and registered as the user's active device: the token."""
    token = app_sign_in(client, user)
    response = register(client, token, installation_id=installation_id, **fields)
    assert response.status_code in (200, 201), response.content
    assert response.json()["status"] == "active"
    return token
