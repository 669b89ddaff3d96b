"""opsx.http.client_ip: the client's address behind our proxy, the same one allauth uses."""

import runpy
from pathlib import Path

import pytest
from allauth.account.adapter import get_adapter
from django.test import RequestFactory
from django.urls import reverse

from opsx.http import client_ip

ROOT = Path(__file__).resolve().parents[2]
PROXY = "10.0.0.2"


@pytest.fixture
def configure(settings, monkeypatch):
    """Apply the allauth settings that opsx/settings.py derives from these variables."""

    def apply(**env):
        for name in ("BEHIND_TLS_PROXY", "TRUSTED_PROXY_COUNT", "TRUSTED_CLIENT_IP_HEADER"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        derived = runpy.run_path(str(ROOT / "opsx" / "settings.py"))
        for name in ("ALLAUTH_TRUSTED_PROXY_COUNT", "ALLAUTH_TRUSTED_CLIENT_IP_HEADER"):
            setattr(settings, name, derived[name])

    return apply


def request(forwarded_for=None, **headers):
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    return RequestFactory().post("/", REMOTE_ADDR=PROXY, headers=headers)


def test_behind_the_proxy_the_client_is_the_hop_the_proxy_appended(configure):
    configure(BEHIND_TLS_PROXY="true")
    assert client_ip(request("198.51.100.7")) == "198.51.100.7"
    # Whatever the client wrote itself sits to the left of the proxy's hop and is ignored.
    assert client_ip(request("192.0.2.1, 8.8.8.8, 198.51.100.7")) == "198.51.100.7"
    # A request that did not come through the proxy is its socket peer.
    assert client_ip(request()) == PROXY


def test_without_the_proxy_setting_x_forwarded_for_is_ignored(configure):
    configure()
    assert client_ip(request("198.51.100.7")) == PROXY


def test_two_trusted_proxies_take_the_second_hop_from_the_right(configure):
    configure(BEHIND_TLS_PROXY="true", TRUSTED_PROXY_COUNT="2")
    assert client_ip(request("192.0.2.1, 198.51.100.7, 10.0.0.1")) == "198.51.100.7"


def test_a_proxy_header_naming_the_client_is_read_when_configured(configure):
    configure(BEHIND_TLS_PROXY="true", TRUSTED_CLIENT_IP_HEADER="X-Real-IP")
    assert client_ip(request("192.0.2.1", X_Real_IP="198.51.100.7")) == "198.51.100.7"


def test_the_helper_and_allauths_rate_limits_name_the_same_address(configure):
    from allauth.core.internal.ratelimit import get_ip

    configure(BEHIND_TLS_PROXY="true")
    req = request("192.0.2.1, 198.51.100.7")
    assert client_ip(req) == get_adapter(req).get_client_ip(req) == get_ip(req) == "198.51.100.7"


@pytest.mark.parametrize(
    ("env", "headers"),
    [
        # fewer X-Forwarded-For hops than trusted proxies: allauth raises ImproperlyConfigured
        ({"TRUSTED_PROXY_COUNT": "2"}, {"X-Forwarded-For": "198.51.100.7"}),
        # no usable address where the proxy would put it: allauth raises PermissionDenied
        ({"TRUSTED_CLIENT_IP_HEADER": "X-Real-IP"}, {}),
        ({"TRUSTED_CLIENT_IP_HEADER": "X-Real-IP"}, {"X-Real-IP": "not an address"}),
        ({}, {"X-Forwarded-For": "not an address"}),
    ],
)
@pytest.mark.django_db
def test_a_request_that_bypassed_our_proxies_counts_as_its_socket_peer(configure, env, headers):
    configure(BEHIND_TLS_PROXY="true", **env)
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR=PROXY, headers=headers)) == PROXY

    from django.test import Client

    response = Client(REMOTE_ADDR=PROXY, headers=headers).post(
        reverse("account_login"), {"login": "nobody@example.com", "password": "wrong password"}
    )
    assert response.status_code == 200 and "not correct" in response.content.decode()
