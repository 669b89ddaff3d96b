"""A failing browser test keeps a full-page screenshot and the page's URL, and says where
(tests/e2e/conftest.py, pytest_runtest_makereport); a passing one keeps nothing.

The hook is driven here as pytest drives it, with the report of a test that used `page`."""

from types import SimpleNamespace

import pytest
from django.urls import reverse

from . import conftest as e2e

pytestmark = pytest.mark.e2e

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_hook(item, report):
    hook = e2e.pytest_runtest_makereport(item, None)
    next(hook)  # pytest runs the other implementations, then sends the report back
    with pytest.raises(StopIteration) as done:
        hook.send(report)
    return done.value.value


def test_a_failing_test_keeps_the_screenshot_and_the_url_and_says_where(
    page, request, tmp_path, monkeypatch
):
    monkeypatch.setenv("OPSX_SCREENSHOTS", str(tmp_path))
    page.goto(reverse("pricing"))
    item = SimpleNamespace(funcargs={"page": page}, name="test_x[phone]", config=request.config)
    report = SimpleNamespace(when="call", failed=True, sections=[])

    assert run_hook(item, report) is report
    image = tmp_path / "failures" / "test_x_phone_.png"
    url = tmp_path / "failures" / "test_x_phone_.url"
    assert image.read_bytes()[:8] == PNG_SIGNATURE
    assert url.read_text().strip() == page.url and page.url.endswith(reverse("pricing"))
    [(title, text)] = report.sections
    assert title == "failure screenshot"
    assert str(image) in text and str(url) in text and page.url in text


def test_without_opsx_screenshots_they_go_under_pytests_base_temporary_directory(
    page, request, tmp_path_factory, monkeypatch
):
    monkeypatch.delenv("OPSX_SCREENSHOTS", raising=False)
    page.goto(reverse("home"))
    item = SimpleNamespace(funcargs={"page": page}, name="test_y", config=request.config)
    report = run_hook(item, SimpleNamespace(when="call", failed=True, sections=[]))
    image = tmp_path_factory.getbasetemp() / "failures" / "test_y.png"
    assert image.read_bytes()[:8] == PNG_SIGNATURE
    assert str(image) in report.sections[0][1]


@pytest.mark.parametrize(
    "report",
    [
        SimpleNamespace(when="call", failed=False, sections=[]),  # passed
        SimpleNamespace(when="setup", failed=True, sections=[]),  # the page never opened
    ],
)
def test_a_passing_test_or_a_failed_setup_keeps_nothing(
    page, request, tmp_path, monkeypatch, report
):
    monkeypatch.setenv("OPSX_SCREENSHOTS", str(tmp_path))
    page.goto(reverse("home"))
    item = SimpleNamespace(funcargs={"page": page}, name="test_z", config=request.config)
    assert run_hook(item, report).sections == []
    assert not (tmp_path / "failures").exists()
