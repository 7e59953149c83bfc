"""The security_alert notebook, executed for real on generated logs and real audit files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.weblog import generate

FLOW = "security_alert"
AUDIT = Path(__file__).resolve().parent.parent / "data" / "audit"


def rendered_outputs(report: Path) -> list[str]:
    """Every text/html and text/markdown output of the executed notebook."""
    nb = json.loads(report.read_text(encoding="utf-8"))
    out = []
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for mime in ("text/html", "text/markdown"):
                if mime in data:
                    out.append("".join(data[mime]))
    return out


@pytest.mark.slow
def test_attack_is_named_with_evidence_and_containment(run_flow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = generate(seed=31, incidents=("stuffing", "scanner", "exfil"))
    findings = run_flow(
        FLOW,
        log.flow_params(
            tmp_path / "logs",
            npm_audit=str(AUDIT / "defectdojo_npm_audit_many_vuln_npm7.json"),
            pip_audit=str(AUDIT / "live_pip-audit-2.10.1_all_skipped_no_registry_vuln_api.json"),
            suspect_ip=log.stuffing_ips[1],  # on demand, instead of the most severe finding's IP
        ),
    )
    by_kind = {f["kind"]: f for f in findings["findings"]}
    assert sorted(by_kind["credential_stuffing"]["numbers"]["ips"]) == sorted(log.stuffing_ips)
    assert by_kind["scanner"]["numbers"]["ips"] == [log.scanner_ip]
    assert log.scanner_ip in by_kind["unusual_user_agents"]["numbers"]["ips"]
    assert by_kind["large_transfers"]["numbers"]["ips"] == [log.exfil_ip]
    npm = by_kind["vulnerabilities_npm_audit"]
    assert npm["severity"] == "high" and npm["numbers"]["packages"] == 15 and "`highcharts`" in npm["summary"]
    # pip-audit skipped every dependency: not clean, unknown.
    assert by_kind["vulnerabilities_pip_audit"]["severity"] == "unknown"
    extra = findings["extra"]
    assert extra["suspect_ip"] == log.stuffing_ips[1]
    for ip in (*log.stuffing_ips, log.scanner_ip, log.exfil_ip):
        assert f"deny {ip};" in extra["containment"]
    # Hostile strings (a <script> user agent, script tags in probe paths) never render as HTML.
    outputs = "\n".join(rendered_outputs(tmp_path / f"run-{FLOW}" / "report.ipynb"))
    assert f"Timeline of **{log.stuffing_ips[1]}**: " in outputs
    assert "&lt;script&gt;" in outputs or "\\<script\\>" in outputs or "&lt;script" in outputs
    assert "<script>" not in outputs


@pytest.mark.slow
def test_demo_incident_scanner_and_stuffing(run_flow, demo) -> None:  # type: ignore[no-untyped-def]
    """The bundled demo (runbook_lib.demo): a scanner sprays /.env and /wp-login.php, and
    someone stuffs credentials into /api/login."""
    values = {k: demo["param_values"][k] for k in ("access_log", "app_log", "start", "end")}
    findings = run_flow(FLOW, values)
    by_kind = {f["kind"]: f for f in findings["findings"]}
    scanner = by_kind["scanner"]
    assert scanner["severity"] in {"medium", "high"} and len(scanner["numbers"]["ips"]) == 1
    stuffing = by_kind["credential_stuffing"]
    assert stuffing["severity"] in {"medium", "high"} and stuffing["numbers"]["endpoint"] == "/api/login"
    assert findings["extra"]["suspect_ip"] == scanner["numbers"]["ips"][0]  # the most severe finding
    assert f"deny {stuffing['numbers']['ips'][0]};" in findings["extra"]["containment"]
