"""Incident ids, the runbook's severity rules, and the incident record."""

from __future__ import annotations

import multiprocessing
import re
from pathlib import Path

import pandas as pd
import pytest

from runbook_lib.errors import ParameterError
from runbook_lib.incident.record import (
    add_timeline_event,
    allocate_incident_id,
    create_incident,
    load_incident,
    validate_incident_id,
)
from runbook_lib.incident.severity import POLICIES, Assessment, severity_finding, suggest_severity


def test_ids_follow_the_runbook_format_and_count_per_utc_day(tmp_path: Path) -> None:
    day = pd.Timestamp("2025-10-24T23:59:00", tz="UTC")
    assert allocate_incident_id(tmp_path, now=day) == "INC-2025-10-24-001"
    assert allocate_incident_id(tmp_path, now=day) == "INC-2025-10-24-002"
    next_day = pd.Timestamp("2025-10-25T00:00:01", tz="UTC")
    assert allocate_incident_id(tmp_path, now=next_day) == "INC-2025-10-25-001"
    # A non-UTC clock reading is converted: 2025-10-25 01:30+02:00 is still the 24th in UTC.
    local = pd.Timestamp("2025-10-25T01:30:00+02:00").tz_convert("UTC")
    assert allocate_incident_id(tmp_path, now=local) == "INC-2025-10-24-003"


def _allocate(args: tuple[str, int]) -> list[str]:
    root, n = args
    return [allocate_incident_id(Path(root)) for _ in range(n)]


def test_concurrent_allocations_never_share_an_id(tmp_path: Path) -> None:
    with multiprocessing.get_context("fork").Pool(6) as pool:
        batches = pool.map(_allocate, [(str(tmp_path), 8)] * 6)
    ids = [i for batch in batches for i in batch]
    assert len(ids) == 48 and len(set(ids)) == 48
    assert all(re.fullmatch(r"INC-\d{4}-\d{2}-\d{2}-\d{3}", i) for i in ids)


@pytest.mark.parametrize("bad", ["INC-2025-13-01-001", "INC-2025-10-24-1", "inc-2025-10-24-001", "", "../etc"])
def test_invalid_ids_are_refused(bad: str) -> None:
    with pytest.raises(ParameterError):
        validate_incident_id(bad)


# Each example from the runbook's "Incident Severity Definitions" maps to its level.
@pytest.mark.parametrize(
    ("assessment", "level"),
    [
        (Assessment(error_rate=1.0), "P0"),  # platform completely unavailable
        (Assessment(data_loss=True), "P0"),  # data loss or corruption
        (Assessment(security_breach=True), "P0"),  # security breach
        (Assessment(users_affected_pct=40, revenue_impact=True), "P0"),  # revenue-impacting outage >25%
        (Assessment(core_functionality=True), "P1"),  # core validation features unavailable
        (Assessment(users_affected_pct=15), "P1"),  # 10-25% of users affected
        (Assessment(error_rate=0.2), "P1"),  # major functionality broken
        (Assessment(core_functionality=True, workaround=True), "P2"),  # workaround available
        (Assessment(users_affected_pct=5), "P2"),  # <10% users
        (Assessment(error_rate=0.03), "P2"),  # elevated error rates
        (Assessment(users_affected_pct=0, error_rate=0.001), "P3"),  # cosmetic / minimal impact
        (Assessment(), "P3"),
    ],
)
def test_runbook_examples_map_to_their_level(assessment: Assessment, level: str) -> None:
    decision = suggest_severity(assessment)
    assert decision.level == level
    assert decision.reasons


def test_highest_rule_wins_and_every_reason_is_listed() -> None:
    decision = suggest_severity(Assessment(users_affected_pct=5, error_rate=0.95, revenue_impact=True))
    assert decision.level == "P0"
    assert any(r.startswith("P0") for r in decision.reasons)
    assert any(r.startswith("P1: revenue") for r in decision.reasons)
    assert any(r.startswith("P2") for r in decision.reasons)


def test_policies_carry_the_runbook_tables() -> None:
    assert POLICIES["P0"].response_time.startswith("Immediate")
    assert POLICIES["P1"].resolution_target == "4 hours"
    assert POLICIES["P2"].escalation["L2 → L3"] == "4 hours"
    assert POLICIES["P3"].communication == "Tracked in issue tracker"
    finding = severity_finding(suggest_severity(Assessment(users_affected_pct=15)))
    assert finding.severity == "high" and "P1" in finding.summary and "4 hours" in finding.summary
    table = suggest_severity(Assessment(data_loss=True)).as_frame()
    assert "Escalate L1 → L2" in set(table["item"])


def test_negative_users_means_unknown() -> None:
    a = Assessment.from_parameters(-1, False, False, False, False, False, error_rate=None)
    assert a.users_affected_pct is None


def test_incident_record_and_timeline(tmp_path: Path) -> None:
    record = create_incident("API 5xx after deploy", root=tmp_path, severity="P1", reporter="sam")
    inc = record["id"]
    assert (tmp_path / inc / "incident.json").is_file()
    add_timeline_event(inc, "rolled back to abc123", kind="mitigation", root=tmp_path)
    again = load_incident(inc, tmp_path)
    assert [e["kind"] for e in again["timeline"]] == ["opened", "mitigation"]
    assert again["severity"] == "P1" and again["title"] == "API 5xx after deploy"
    with pytest.raises(ParameterError):
        create_incident("  ", root=tmp_path)
    with pytest.raises(ParameterError):
        create_incident("x", root=tmp_path, severity="P7")
    with pytest.raises(ParameterError, match="runbook new"):
        load_incident("INC-2020-01-01-001", tmp_path)


def test_milestones_are_ordered_and_drive_the_status(tmp_path: Path) -> None:
    from runbook_lib.incident.record import set_milestone

    rec = create_incident(
        "db down",
        root=tmp_path,
        started_at="2026-11-30T10:00:00Z",
        detected_at="2026-11-30T10:05:00Z",
        now=pd.Timestamp("2026-11-30T10:06:00Z"),
    )
    inc = rec["id"]
    set_milestone(inc, "mitigated_at", "2026-11-30T10:40:00Z", root=tmp_path)
    with pytest.raises(ParameterError, match="is before mitigated_at"):
        set_milestone(inc, "resolved_at", "2026-11-30T10:30:00Z", root=tmp_path)
    with pytest.raises(ParameterError, match="is after mitigated_at"):
        set_milestone(inc, "acknowledged_at", "2026-11-30T10:50:00Z", root=tmp_path)
    before = load_incident(inc, tmp_path)
    assert before["status"] == "mitigated" and "resolved_at" not in before["milestones"]
    with pytest.raises(ParameterError, match="is before impact_started_at"):  # 09:10 UTC
        set_milestone(inc, "acknowledged_at", "2026-11-30T10:10:00+01:00", root=tmp_path)
    set_milestone(inc, "acknowledged_at", "2026-11-30T11:10:00+01:00", root=tmp_path)
    after = load_incident(inc, tmp_path)
    assert [e["at"] for e in after["timeline"]] == sorted(e["at"] for e in after["timeline"])
    with pytest.raises(ParameterError, match="cannot read"):
        set_milestone(inc, "resolved_at", "yesterday-ish", root=tmp_path)
