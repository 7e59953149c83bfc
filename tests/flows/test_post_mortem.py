"""An incident end to end, then its post-mortem: `new` back-dated, triage on the demo's
guilty deploy, ack/mitigate/resolve with --at, a note, an action item, a notification
sent, and `post_mortem`. Metrics to the second, the response verdict, the error budget
against an independent count of the access log, and the template's headings."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from runbook_lib.cli import main
from runbook_lib.run.runner import run_flow

TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "incident" / "postmortem_template.md"
# A strict combined-log line: the test's own reading, independent of the kit's parser.
LINE = re.compile(
    r'^\S+ \S+ \S+ \[(\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} \+0000)\] "[A-Z]+ \S+ HTTP/[\d.]+" (\d{3}) \d+ '
)


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> tuple[Callable[..., Done], Callable[..., str]]:
    """The real CLI entry point, in process (a subprocess per command would cost ~1 s each):
    ``runbook(*args)`` returns the outcome, ``ok(*args)`` asserts success and returns stdout."""

    def runbook(*args: str) -> Done:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Done(code, out, err)

    def ok(*args: str) -> str:
        done = runbook(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    return runbook, ok


def template_headings() -> list[str]:
    block = TEMPLATE.read_text().split("```markdown", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.startswith("#")]


def independent_budget(log: Path, start: pd.Timestamp, end: pd.Timestamp, slo: float, days: float) -> float:
    total = failed = 0
    for line in log.read_text(errors="replace").splitlines():
        m = LINE.match(line)
        if not m:
            continue
        at = pd.Timestamp(pd.to_datetime(m[1], format="%d/%b/%Y:%H:%M:%S %z")).tz_convert("UTC")
        if start <= at < end:
            total += 1
            failed += int(m[2]) >= 500
    expected = total / (end - start).total_seconds() * days * 86400
    return 100 * failed / ((1 - slo / 100) * expected)


@pytest.mark.slow
def test_incident_life_and_post_mortem(
    kit_home: Path, demo: dict[str, Any], tmp_path: Path, cli: tuple[Callable[..., Done], Callable[..., str]]
) -> None:
    runbook, ok = cli
    bad = pd.Timestamp(demo["bad_deploy_at"]).floor("s")
    t = {
        "impact": bad + pd.Timedelta(seconds=60),
        "detected": bad + pd.Timedelta(minutes=5, seconds=30),
        "ack": bad + pd.Timedelta(minutes=14, seconds=10),
        "mitigated": bad + pd.Timedelta(minutes=31, seconds=5),
        "resolved": bad + pd.Timedelta(minutes=40, seconds=45),
    }
    iso = {k: v.isoformat() for k, v in t.items()}
    inc = ok("new", "--title", "Checkout 5xx after deploy", "--started-at", iso["impact"],
             "--detected-at", iso["detected"], "--commander", "Alice").strip()  # fmt: skip
    record_path = kit_home / "reports" / inc / "incident.json"

    params = tmp_path / "demo.yaml"
    params.write_text(yaml.safe_dump(demo["param_values"]))
    triage = run_flow("triage", inc, files=[params])
    assert triage.status == "ok", triage.error
    after_triage = json.loads(record_path.read_text())
    # The runner adopted triage's suggestion through the severity history.
    (suggested,) = after_triage["severity_history"]
    assert suggested["from"] is None and suggested["to"] in ("P1", "P2") and suggested["by"].startswith("01-triage-")

    ok(
        "severity",
        inc,
        "P1",
        "--why",
        "checkout broken for many users",
        "--at",
        (t["detected"] + pd.Timedelta(minutes=2)).isoformat(),
    )
    ok("status", inc, "acknowledged", "--at", iso["ack"], "--by", "Bob")
    ok("notify", inc, "--kind", "notification", "--sent", "--at", (t["ack"] + pd.Timedelta(minutes=1)).isoformat())
    ok(
        "note",
        inc,
        "rolled back to the parent of the payments deploy",
        "--at",
        (t["mitigated"] - pd.Timedelta(minutes=1)).isoformat(),
    )
    ok("status", inc, "mitigated", "--at", iso["mitigated"], "--note", "rollback done")
    ok("status", inc, "resolved", "--at", iso["resolved"])
    ok("action", inc, "Add a canary for payment provider calls", "--owner", "SRE", "--due", "2030-01-15")

    # Refused input changes nothing, byte for byte.
    before = record_path.read_bytes()
    for bad_args in (
        ("status", inc, "mitigated", "--at", (t["ack"] - pd.Timedelta(minutes=1)).isoformat()),  # out of order
        ("status", inc, "fixed"),
        ("note", inc, "x", "--at", "yesterday-ish"),
        ("action", inc, "y", "--owner", "SRE", "--due", "2030-02-30"),
        ("severity", inc, "P5"),
        ("action", inc, "--done", "7"),
    ):
        done = runbook(*bad_args)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, (bad_args, done.stderr)
    assert record_path.read_bytes() == before
    for bad_id in ("../x", "INC-2020-01-01-001"):
        done = runbook("note", bad_id, "x")
        assert done.returncode == 2 and "Traceback" not in done.stderr
    assert not (kit_home / "x").exists() and not (kit_home / "reports" / "INC-2020-01-01-001").exists()

    pm = run_flow("post_mortem", inc, overrides=[("slo_target", "99.9"), ("slo_period_days", "30")])
    assert pm.status == "ok", pm.error
    findings = json.loads((pm.run_dir / "findings.json").read_text())
    metrics = findings["extra"]["metrics"]
    assert set(metrics) == {"time_to_detect_s", "time_to_acknowledge_s", "time_to_mitigate_s",
                            "time_to_resolve_s", "duration_s", "error_budget_consumed_pct"}  # fmt: skip
    assert metrics["time_to_detect_s"] == 270  # 5:30 - 1:00
    assert metrics["time_to_acknowledge_s"] == 520  # 14:10 - 5:30
    assert metrics["time_to_mitigate_s"] == 1805  # 31:05 - 1:00
    assert metrics["time_to_resolve_s"] == 2385  # 40:45 - 1:00
    assert metrics["duration_s"] == 2115  # 40:45 - 5:30
    expected = independent_budget(demo["folder"] / "access.log", t["impact"], t["resolved"], 99.9, 30)
    assert expected > 1  # the guilty deploy burns budget
    assert abs(metrics["error_budget_consumed_pct"] - expected) < 1e-6 * expected
    # P1: acknowledge within 15 min (took 8 min 40 s), resolve within 4 h (took 39 min 45 s).
    verdicts = {f["summary"] for f in findings["findings"] if f["kind"] == "response"}
    assert verdicts == {
        "Response (acknowledge) target met (8 min 40 s against 15 minutes).",
        "Resolution target met (39 min 45 s against 4 hours).",
    }

    markdown = (pm.run_dir / "postmortem.md").read_text()
    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert headings == [h.replace("INC-YYYY-MM-DD-NNN", inc) for h in template_headings()]
    sha = demo["bad_deploy_sha"]
    root_cause = markdown.split("## Root Cause", 1)[1].split("##", 1)[0]
    assert sha[:7] in root_cause and "switch provider client to async pool" in root_cause
    assert "| Add a canary for payment provider calls | SRE | 2030-01-15 | Open |" in markdown
    assert f"{metrics['error_budget_consumed_pct']:.2f}% of the 30-day error budget" in markdown
    rows = [line for line in markdown.split("## Timeline", 1)[1].split("## Root Cause", 1)[0].splitlines()
            if line.startswith("| 2")]  # fmt: skip
    stamps = [pd.Timestamp(r.split("|")[1].strip(), tz="UTC") for r in rows]
    assert stamps == sorted(stamps)
    text = "\n".join(rows).replace("\\", "")  # Markdown escapes
    for expected_event in ("impact_started_at set", "detected_at set", "acknowledged", "note: rolled back",
                           "mitigated: rollback done", "resolved", "sent notification", f"deploy {sha[:7]}",
                           "severity unassessed → ", "severity P", "finding (triage)"):  # fmt: skip
        assert expected_event in text, expected_event
    # The deploy precedes impact start, detection precedes acknowledgement, in the table too.
    assert text.index(f"deploy {sha[:7]}") < text.index("impact_started_at set") < text.index("acknowledged")

    record = json.loads(record_path.read_text())
    ats = [pd.Timestamp(e["at"]) for e in record["timeline"]]
    assert ats == sorted(ats) and all("recorded_at" in e for e in record["timeline"])
    assert [h["to"] for h in record["severity_history"]][-1] == "P1"
    sent = [e for e in record["timeline"] if e["kind"] == "communication"]
    assert len(sent) == 1 and "Incident Commander: Alice" in sent[0]["text"]

    # Re-running after a new note writes a new run; the earlier postmortem.md stays.
    ok("note", inc, "customer support confirmed recovery", "--at", iso["resolved"])
    again = run_flow("post_mortem", inc)
    assert again.run_dir != pm.run_dir and (pm.run_dir / "postmortem.md").read_text() == markdown
    assert "customer support confirmed recovery" in (again.run_dir / "postmortem.md").read_text()
