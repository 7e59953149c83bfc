"""Post-mortem analysis, pure: metric definitions, missing milestones, verdicts, budget, Markdown."""

from __future__ import annotations

import pandas as pd

from runbook_lib.analysis.postmortem import compute_metrics, error_budget, response_verdict, target_delta
from runbook_lib.analysis.postmortem_md import cause_findings, postmortem_markdown

MILESTONES = {
    "impact_started_at": "2025-10-24T14:00:00+00:00",
    "detected_at": "2025-10-24T14:04:00+00:00",
    "acknowledged_at": "2025-10-24T14:13:30+00:00",
    "resolved_at": "2025-10-24T16:30:00+00:00",
}


def test_missing_milestone_gives_none_and_a_sentence() -> None:
    values, missing = compute_metrics(MILESTONES)
    assert values["time_to_detect_s"] == 240 and values["time_to_acknowledge_s"] == 570
    assert values["time_to_resolve_s"] == 9000 and values["duration_s"] == 8760
    assert values["time_to_mitigate_s"] is None
    assert missing == ["Time to mitigate is unknown: mitigated_at is not recorded."]


def test_targets_and_verdicts_per_severity() -> None:
    assert target_delta("Immediate (acknowledge within 5 minutes)") == pd.Timedelta(minutes=5)
    assert target_delta("1-2 hours") == pd.Timedelta(hours=2) and target_delta("7 days") == pd.Timedelta(days=7)
    values, _ = compute_metrics(MILESTONES)
    p0 = response_verdict("P0", values)
    assert list(p0["verdict"]) == ["missed by 4 min 30 s", "missed by 30 min 00 s"]
    p1 = response_verdict("P1", values)
    assert list(p1["verdict"]) == ["met", "met"]
    assert list(response_verdict(None, values)["verdict"]) == ["no severity recorded"]


def test_error_budget_formula_and_unknowns() -> None:
    start, end = pd.Timestamp("2025-10-24T14:00:00Z"), pd.Timestamp("2025-10-24T14:10:00Z")
    times = pd.date_range(start, periods=600, freq="1s")
    access = pd.DataFrame({"requested_at": times, "status": [503 if i % 10 == 0 else 200 for i in range(600)]})
    budget = error_budget(access, start, end, slo_target=99.9, period_days=30)
    # 60 failed of 600 in 600 s: 1 req/s → 2,592,000 expected a month, budget 2,592 failures.
    assert budget["failed"] == 60 and abs(budget["consumed_pct"] - 100 * 60 / 2592) < 1e-9
    assert error_budget(access, None, end, slo_target=99.9, period_days=30)["consumed_pct"] is None
    empty = error_budget(access.iloc[0:0], start, end, slo_target=99.9, period_days=30)
    assert empty["consumed_pct"] is None and "no access log lines" in empty["sentence"]


def test_causes_and_hostile_text_in_markdown() -> None:
    runs = [
        {"flow": "db_connections", "findings": [
            {"kind": "blocking_chain", "severity": "high", "summary": "pid 42 blocks 9 sessions"},
            {"kind": "connection_utilisation", "severity": "info", "summary": "fine"}]},
        {"flow": "triage", "findings": [{"kind": "deploy", "severity": "high", "summary": "deploy abc123 | <b>x</b>"}]},
    ]  # fmt: skip
    assert [f["kind"] for f in cause_findings(runs)] == ["deploy", "blocking_chain"]
    record = {"id": "INC-2025-10-24-001", "title": "t", "milestones": MILESTONES, "timeline": []}
    values, missing = compute_metrics(MILESTONES)
    md = postmortem_markdown(record, metrics=values, missing=missing, verdict=response_verdict("P1", values),
                             timeline=pd.DataFrame(columns=["at", "source", "event"]), runs=runs,
                             budget={"sentence": "n/a"})  # fmt: skip
    root = md.split("## Root Cause", 1)[1].split("## Resolution", 1)[0]
    assert "deploy abc123 \\| \\<b\\>x\\</b\\>" in root and "- pid 42 blocks 9 sessions" in root
    assert "<b>" not in md
