import pytest

from devices.models import Device

from .helpers import api, app_sign_in, register

pytestmark = pytest.mark.django_db


def test_sign_in_register_and_me(client, personas):
    token = app_sign_in(client, personas.bob)
    assert api(client, "get", "/api/v1/me", token).json()["device"] is None
    response = register(client, token, push_token="tok-1")
    assert response.status_code == 201, response.content
    me = api(client, "get", "/api/v1/me", token).json()
    assert me["device"]["status"] == "active"
    assert me["client"]["name"] == "Acme"
    device = Device.objects.get()
    assert device.session_key == token
