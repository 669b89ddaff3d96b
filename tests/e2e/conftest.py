"""Browser tests: Playwright drives Debian's Chromium (/usr/bin/chromium, or OPSX_CHROMIUM;
never a browser that Playwright downloads) against pytest-django's live server, with a real
Celery worker where a page waits on a background job.

Without Chromium the browser tests fail, they do not skip: a green run must have covered them
(scripts/test installs it). OPSX_SKIP_BROWSER_TESTS=1 deselects them instead, said loudly.

The browser lives for one test only. While Playwright's sync API runs, Django sees an event
loop in this thread: the ORM is allowed (DJANGO_ALLOW_ASYNC_UNSAFE) for that test only, and the
database connections it opens meanwhile are kept apart from the usual ones (asgiref's
thread-critical Local), so the fixture closes them before the loop stops; left open they
would keep the test database from being dropped at the end of the run.

A test using `page` that fails keeps a full-page screenshot of where it stopped, and that
page's URL beside it (pytest_runtest_makereport below), under $OPSX_SCREENSHOTS if set, else
under pytest's base temporary directory: <base>/failures/<test name>.png and .url; the
failure's report says where.
"""

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connections

from tests.workers import celery_worker

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("OPSX_CHROMIUM") or "/usr/bin/chromium")
SKIP_ENV = "OPSX_SKIP_BROWSER_TESTS"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def browser_tests_opted_out() -> bool:
    return os.environ.get(SKIP_ENV) == "1"


def require_chromium(path: Path = CHROMIUM) -> None:
    """Fail the test (never skip it) when the browser is missing and nobody opted out."""
    if not path.exists():
        pytest.fail(
            f"Debian's Chromium is not installed at {path}: the browser tests need it. "
            "scripts/test installs it (as root), or: apt-get install chromium; or set "
            f"OPSX_CHROMIUM to a Chromium binary; or run without them: {SKIP_ENV}=1 scripts/test",
            pytrace=False,
        )


def pytest_collection_modifyitems(config, items):
    if not browser_tests_opted_out():
        return
    kept = [item for item in items if item.get_closest_marker("e2e") is None]
    deselected = [item for item in items if item.get_closest_marker("e2e") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def screenshots_root(config) -> Path:
    """$OPSX_SCREENSHOTS, else pytest's base temporary directory (the last three are kept)."""
    base = os.environ.get("OPSX_SCREENSHOTS")
    # pytest's own TempPathFactory for this run, the one behind tmp_path_factory.
    return Path(base) if base else config._tmp_path_factory.getbasetemp()


def keep_failure_screenshot(page, folder: Path, test_name: str) -> tuple[Path, Path]:
    """Save the page's full-page screenshot and its URL under `folder`; return both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^\w.-]+", "_", test_name)
    image, url = folder / f"{stem}.png", folder / f"{stem}.url"
    url.write_text(page.url + "\n")
    page.screenshot(path=image, full_page=True)
    return image, url


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """A failing test that used `page`: keep the screenshot while the page is still open (its
    fixture is torn down after this report), and say where in the failure's report."""
    report = yield
    page = getattr(item, "funcargs", {}).get("page")
    if report.when == "call" and report.failed and page is not None:
        try:
            image, url = keep_failure_screenshot(
                page, screenshots_root(item.config) / "failures", item.name
            )
            where = f"screenshot: {image}\nits URL ({page.url}): {url}"
        except Exception as error:  # a closed or crashed page: the failure itself matters more
            where = f"no screenshot could be taken: {error}"
        report.sections.append(("failure screenshot", where))
    return report


def pytest_terminal_summary(terminalreporter, config):
    if browser_tests_opted_out():
        terminalreporter.write_sep(
            "!", f"{SKIP_ENV}=1: the browser tests (tests/e2e) were NOT run", red=True, bold=True
        )


@dataclass
class BrowserErrors:
    """What went wrong in the page: console errors (CSP refusals appear there) and uncaught
    exceptions."""

    console: list[str] = field(default_factory=list)
    page: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.console or self.page)


@pytest.fixture
def browser_errors() -> BrowserErrors:
    return BrowserErrors()


@pytest.fixture
def page(live_server, monkeypatch, browser_errors):
    """A fresh headless Chromium page whose relative URLs go to the live server."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(30_000)
        page = context.new_page()
        page.on(
            "console",
            lambda message: (
                browser_errors.console.append(message.text) if message.type == "error" else None
            ),
        )
        page.on("pageerror", lambda error: browser_errors.page.append(str(error)))
        try:
            yield page
        finally:
            connections.close_all()  # those opened while the loop ran (see above)
            context.close()
            browser.close()


@pytest.fixture
def import_worker(transactional_db, settings, tmp_path):
    """A real Celery worker committing imports 100 rows at a time, so that their progress can be
    watched; uploaded files go to a media folder shared by the live server and the worker."""
    media = tmp_path / "media"
    media.mkdir()
    settings.MEDIA_ROOT = media
    with celery_worker(tmp_path, MEDIA_ROOT=str(media), IMPORT_BATCH_SIZE="100") as worker:
        yield worker
