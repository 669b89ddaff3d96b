# Shared by scripts/run, scripts/test and .ci/run: a virtualenv with the project installed,
# PostgreSQL and Redis up when they are expected to be local, Chromium for the browser tests.

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

ensure_venv() {
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv with $PYTHON"
    "$PYTHON" -m venv .venv
  fi
  # Reinstall only when the dependencies changed.
  local stamp=.venv/.opsx-installed want
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing OpsX and its dev tools into .venv"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet ".[dev]"
    echo "$want" >"$stamp"
  fi
  ensure_pdf_libs
}

# WeasyPrint (invoice PDFs) loads Pango at run time; Debian's packages, installed if missing.
ensure_pdf_libs() {
  ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Pango (Debian) for the invoice PDFs"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null || true
  fi
  ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' ||
    echo "warning: Pango is missing: invoice PDFs cannot be made (apt-get install libpango-1.0-0 libpangoft2-1.0-0)" >&2
}

_pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
_redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

ensure_services() {
  if ! _pg_up; then
    echo "==> starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do _pg_up && break; sleep 1; done
  fi
  if ! _redis_up; then
    echo "==> starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
    for _ in $(seq 1 30); do _redis_up && break; sleep 1; done
  fi
  _pg_up || { echo "PostgreSQL is not reachable on 127.0.0.1:5432 (see README)"; return 1; }
  _redis_up || { echo "Redis is not reachable on 127.0.0.1:6379 (see README)"; return 1; }
}

# The browser tests (tests/e2e) drive Debian's Chromium; Playwright never downloads one.
# OPSX_CHROMIUM points them (and this check) at another binary.
OPSX_CHROMIUM=${OPSX_CHROMIUM:-/usr/bin/chromium}
export OPSX_CHROMIUM

# Returns 0 when Chromium is there, installing Debian's package first if it can (root and
# apt-get); 1 when it is missing and cannot be installed here.
ensure_chromium() {
  [ -x "$OPSX_CHROMIUM" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing chromium (Debian) for the browser tests"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null || true
    [ -x "$OPSX_CHROMIUM" ] && return 0
  fi
  return 1
}
