#!/usr/bin/env bash
# One command for a newcomer: install the kit in .venv, generate the demo incident, run the
# triage flow on it, and print where the report is. Needs no running service.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
# byte-compile the kit once: where PYTHONDONTWRITEBYTECODE is set (containers, CI) every
# CLI and kernel process would compile its modules again (~0.2 s each, twice per run)
.venv/bin/python -m compileall -q runbook_lib >/dev/null
start=$(date +%s)
.venv/bin/runbook demo
echo "demo finished in $(( $(date +%s) - start )) s; open the index above in a browser, or: .venv/bin/runbook lab"
