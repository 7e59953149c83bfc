#!/usr/bin/env bash
# One command for the whole test suite on a fresh machine: system packages the tests use
# (scripts/apt-packages.txt), PostgreSQL and Redis on loopback, the kit with its test extras
# in .venv, then pytest over tests/ and nbval over the stripped notebooks.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
while read -r pkg; do
  [ -n "$pkg" ] && [ "${pkg#\#}" = "$pkg" ] || continue
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done < scripts/apt-packages.txt
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  # policy-rc.d: packages such as nginx and prometheus must not start system daemons here;
  # the tests start their own instances on loopback.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null; $SUDO chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  $SUDO rm -f /usr/sbin/policy-rc.d
fi

# PostgreSQL and Redis: this machine kind starts them; start them again if they stopped.
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  for _ in $(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  $SUDO mkdir -p /var/lib/redis /var/log/redis
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
# byte-compile the kit once: where PYTHONDONTWRITEBYTECODE is set (containers, CI) every
# CLI and kernel process would compile its modules again (~0.2 s each, twice per run)
.venv/bin/python -m compileall -q runbook_lib >/dev/null
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy runbook_lib
# --durations: CI prints the slowest tests (the suite must stay within CI's 20 minutes).
if [ $# -gt 0 ]; then
  exec .venv/bin/python -m pytest -q --durations=25 "$@"
fi
# The whole suite runs as two pytest processes side by side, one per core: the browser
# tests, nbval (notebooks in JupyterLab and in a plain kernel) and the two longest flow
# tests beside everything else. One after the other, pytest took 17 min on a 2-core CI
# machine; split, the whole of .ci/run on a fresh clone took 14.4 min. The demo incident
# both read is made fresh once, before either starts (conftest.py's ensure_fresh_demo).
first=(tests/lab notebooks tests/flows/test_calm_control.py tests/flows/test_post_mortem.py)
.venv/bin/python -c 'import conftest; conftest.ensure_fresh_demo()' >/dev/null
browser_log="$(mktemp)"
.venv/bin/python -m pytest -q -p no:cacheprovider "${first[@]}" --nbval-lax --durations=10 >"$browser_log" 2>&1 &
browser=$!
rest=0
.venv/bin/python -m pytest -q tests "${first[@]/#/--ignore=}" --durations=25 || rest=$?
lab=0
wait "$browser" || lab=$?
echo "=== the other side: ${first[*]} ==="
cat "$browser_log"; rm -f "$browser_log"
[ "$rest" -eq 0 ] && [ "$lab" -eq 0 ]
