"""The access log: one JSON line per request, exactly the fields of opsx.access_log.FIELDS,
no query string, no cookie value, no emailed link's secret, and every field on /privacy/."""

import json
import logging
import re
from datetime import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from opsx import access_log

from .test_settings import PRODUCTION, _settings_value


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def lines():
    """The access log's lines as written, parsed (each must be one line of valid JSON)."""
    handler = _Lines()
    logger = logging.getLogger(access_log.LOGGER_NAME)
    logger.addHandler(handler)
    parsed = []

    def read():
        parsed.clear()
        for message in handler.messages:
            assert "\n" not in message and "\r" not in message
            parsed.append(json.loads(message))
        return parsed

    read.raw = handler.messages
    yield read
    logger.removeHandler(handler)


def only_line(lines):
    (line,) = lines()
    return line


@pytest.mark.django_db
def test_a_visitors_request_is_one_line_with_exactly_the_listed_fields(client, lines):
    response = client.get("/", REMOTE_ADDR="198.51.100.7")

    line = only_line(lines)
    assert list(line) == list(access_log.FIELDS)
    assert line["session_cookie"] is False
    assert line["user_id"] is None and line["client_id"] is None
    assert (line["method"], line["path"], line["status"]) == ("GET", "/", 200)
    assert line["ip"] == "198.51.100.7"
    assert isinstance(line["duration_ms"], int | float) and line["duration_ms"] >= 0
    assert line["time"].endswith("Z")
    assert datetime.fromisoformat(line["time"]).utcoffset().total_seconds() == 0
    assert re.fullmatch(r"[0-9a-f]{32}", line["request_id"])
    assert response["X-Request-ID"] == line["request_id"]


def test_a_signed_in_users_line_has_their_ids_no_query_values_and_no_cookie_value(
    client, personas, lines
):
    client.force_login(personas.alice)
    session_value = client.cookies["sessionid"].value

    response = client.get("/app/prospects/?q=secret-name&page=2")

    assert response.status_code == 200
    line = only_line(lines)
    assert line["path"] == "/app/prospects/"
    assert line["user_id"] == personas.alice.pk
    assert line["client_id"] == personas.client_a.pk
    assert line["session_cookie"] is True
    (raw,) = lines.raw
    assert "secret-name" not in raw and "page" not in raw
    assert session_value not in raw


@pytest.mark.django_db
def test_the_secret_token_of_an_emailed_link_is_not_logged(client, lines):
    token = "s3cr3t-invitation-token"

    client.get(reverse("invitation_accept", args=[token]))

    line = only_line(lines)
    assert line["path"] == "/invitation/<token>/"
    assert token not in lines.raw[0]


def test_the_token_is_left_out_when_a_middleware_answers_before_the_url_is_resolved(
    client, personas, lines
):
    """ClientMiddleware answers a suspended client's user with its own page, unresolved."""
    personas.client_a.status = personas.client_a.Status.SUSPENDED
    personas.client_a.save(update_fields=["status"])
    client.force_login(personas.alice)
    token = "s3cr3t-invitation-token"

    response = client.get(reverse("invitation_accept", args=[token]))

    assert response.status_code == 403
    assert only_line(lines)["path"] == "/invitation/<token>/"
    assert token not in lines.raw[0]


@pytest.mark.django_db
def test_a_forwarded_for_header_is_ignored_without_a_trusted_proxy(client, settings, lines):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0

    client.get("/", REMOTE_ADDR="198.51.100.7", headers={"X-Forwarded-For": "203.0.113.66"})

    assert only_line(lines)["ip"] == "198.51.100.7"


@pytest.mark.django_db
def test_behind_one_trusted_proxy_the_ip_is_the_hop_it_appended(client, settings, lines):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1

    client.get("/", REMOTE_ADDR="10.0.0.2", headers={"X-Forwarded-For": "192.0.2.1, 203.0.113.66"})

    assert only_line(lines)["ip"] == "203.0.113.66"


@pytest.mark.django_db
@pytest.mark.urls("tests.opsx.access_log_urls")
def test_a_view_raising_an_exception_is_logged_once_as_a_500(lines):
    response = Client(raise_request_exception=False).get("/boom/")

    assert response.status_code == 500
    line = only_line(lines)
    assert (line["path"], line["status"]) == ("/boom/", 500)
    assert response["X-Request-ID"] == line["request_id"]


@pytest.mark.django_db
def test_a_sane_incoming_request_id_is_kept_and_returned(client, lines):
    response = client.get("/", headers={"X-Request-ID": "4f1c2a9e8b7d6c5b4a3f2e1d0c9b8a7f"})

    assert only_line(lines)["request_id"] == "4f1c2a9e8b7d6c5b4a3f2e1d0c9b8a7f"
    assert response["X-Request-ID"] == "4f1c2a9e8b7d6c5b4a3f2e1d0c9b8a7f"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "hostile_id",
    ["abc\r\nX-Injected: 1", "x" * 10_000, "caf\xe9-\u2028-id-0001", "short", ""],
)
def test_a_hostile_request_id_is_replaced_by_a_new_one(client, lines, hostile_id):
    response = client.get("/", HTTP_X_REQUEST_ID=hostile_id)

    line = only_line(lines)
    assert re.fullmatch(r"[0-9a-f]{32}", line["request_id"])
    assert response["X-Request-ID"] == line["request_id"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/%0D%0AX-Injected:%201/", "/\r\nX-Injected: 1/"),  # CRLF: escaped inside the string
        ("/%FF%FE%C3/", "/%FF%FE%C3/"),  # not UTF-8: Django re-percent-encodes it
        ("/\u2028\u0000\u001b[31m/", "/\u2028\u0000\u001b[31m/"),  # line separator, NUL, escape
        ("/" + "a" * 50_000, "/" + "a" * (access_log.MAX_PATH - 1)),  # huge: cut
    ],
)
def test_a_hostile_path_still_gives_one_valid_json_line(client, lines, path, logged):
    client.get(path, headers={"User-Agent": "x\r\n" * 1000, "Cookie": "sessionid=\xff\r\n"})

    line = only_line(lines)
    assert list(line) == list(access_log.FIELDS)
    assert (line["path"], line["status"]) == (logged, 404)
    assert "\u2028" not in lines.raw[0] and "\x1b" not in lines.raw[0]  # escaped, not raw


@pytest.mark.django_db
def test_the_privacy_page_describes_every_field_of_a_real_line(client, lines):
    response = client.get(reverse("privacy"))

    assert response.status_code == 200
    content = response.content.decode()
    assert "What our server logs hold" in content
    for key in only_line(lines):
        assert f"<code>{key}</code>" in content
        assert escape(access_log.FIELDS[key]) in content


def test_access_log_off_takes_the_middleware_out():
    value = _settings_value(
        "'opsx.access_log.AccessLogMiddleware' in settings.MIDDLEWARE",
        env={**PRODUCTION, "ACCESS_LOG": "off"},
    )
    assert value == "False"


def test_by_default_the_log_is_first_in_middleware_and_goes_to_stdout():
    value = _settings_value(
        "settings.MIDDLEWARE[0], settings.LOGGING['handlers']['access_stdout']['stream']",
        env=PRODUCTION,
    )
    assert value == "('opsx.access_log.AccessLogMiddleware', 'ext://sys.stdout')"
