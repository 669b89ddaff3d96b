"""On a machine without Chromium the browser tests fail with what to do, or are deselected
when asked for; they never skip quietly."""

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import require_chromium

ROOT = Path(__file__).resolve().parents[2]


def test_a_missing_chromium_fails_the_browser_test_saying_what_to_do(tmp_path):
    with pytest.raises(pytest.fail.Exception) as failure:
        require_chromium(tmp_path / "no-chromium")
    message = str(failure.value)
    assert "apt-get install chromium" in message and "OPSX_SKIP_BROWSER_TESTS=1" in message


def _ensure_chromium(tmp_path, chromium: Path, uid: str) -> subprocess.CompletedProcess:
    """Run scripts/lib.sh's ensure_chromium with a stand-in `id` and `apt-get` that only log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/apt.log\n')
    for tool in ("id", "apt-get"):
        (bin_dir / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin", "OPSX_CHROMIUM": str(chromium)}
    return subprocess.run(
        ["bash", "-c", ". scripts/lib.sh && ensure_chromium"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_ensure_chromium_accepts_an_installed_browser_without_installing(tmp_path):
    chromium = tmp_path / "chromium"
    chromium.write_text("#!/bin/sh\n")
    chromium.chmod(0o755)
    assert _ensure_chromium(tmp_path, chromium, uid="0").returncode == 0
    assert not (tmp_path / "apt.log").exists()


def test_ensure_chromium_installs_debians_package_as_root(tmp_path):
    result = _ensure_chromium(tmp_path, tmp_path / "missing", uid="0")
    log = (tmp_path / "apt.log").read_text()
    assert "install" in log and "chromium" in log
    assert result.returncode == 1  # the stand-in apt-get installed nothing


def test_ensure_chromium_reports_failure_when_it_cannot_install(tmp_path):
    result = _ensure_chromium(tmp_path, tmp_path / "missing", uid="1000")
    assert result.returncode == 1
    assert not (tmp_path / "apt.log").exists()  # not root: no install attempted


def test_scripts_test_stops_with_a_clear_message_without_chromium(tmp_path):
    """The README's test command does not go green without the browser tests."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "id").write_text("#!/bin/sh\necho 1000\n")
    (bin_dir / "id").chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "OPSX_CHROMIUM": str(tmp_path / "missing"),
    }
    env.pop("OPSX_SKIP_BROWSER_TESTS", None)
    result = subprocess.run(
        ["scripts/test", "--collect-only", "-q", "tests/e2e"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert "OPSX_SKIP_BROWSER_TESTS=1 scripts/test" in result.stderr


def test_opting_out_deselects_the_browser_tests_and_says_so(tmp_path):
    env = {
        **os.environ,
        "OPSX_CHROMIUM": str(tmp_path / "missing"),
        "OPSX_SKIP_BROWSER_TESTS": "1",
    }
    result = subprocess.run(
        ["scripts/test", "-q", "tests/e2e/test_import_progress.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "the browser tests (tests/e2e) are NOT run" in result.stdout
    assert "deselected" in result.stdout and "were NOT run" in result.stdout
    assert "passed" not in result.stdout
