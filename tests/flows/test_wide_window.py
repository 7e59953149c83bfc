"""A window far wider than the log (a user asking for "everything") changes no finding.

Per-minute axes cover the span the data covers inside the window (analysis/_common.py),
so 2000-2100 over a two-hour log must give the same findings, with the same numbers, as
the log's own span, and must not build 52 million minutes on the way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.weblog import generate

CENTURY = {"start": "2000-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"}


def _verdicts(findings: dict[str, Any]) -> list[tuple[str, str, Any]]:
    return [(f["kind"], f["severity"], f.get("numbers")) for f in findings["findings"]]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("flow", "incidents"),
    [("api_rate_limit", ("storm", "upstream")), ("security_alert", ("stuffing", "scanner", "exfil"))],
)
def test_century_window_gives_the_findings_of_the_log_span(  # type: ignore[no-untyped-def]
    run_flow, tmp_path: Path, flow: str, incidents: tuple[str, ...]
) -> None:
    log = generate(seed=41, incidents=incidents)
    own = run_flow(flow, log.flow_params(tmp_path / "own"))
    wide = run_flow(flow, log.flow_params(tmp_path / "wide", **CENTURY))
    assert any(severity in ("high", "critical") for _, severity, _ in _verdicts(own)), own["findings"]
    assert _verdicts(wide) == _verdicts(own)
    assert wide["window"]["start"].startswith("2000-01-01") and wide["window"]["end"].startswith("2100-01-01")
