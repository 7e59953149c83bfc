"""The incident's life on the record: severity history, notes, action items, impact,
status milestones; concurrent writers lose nothing; refused input changes nothing."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pandas as pd
import pytest

from runbook_lib.errors import ParameterError
from runbook_lib.incident.life import add_action, add_note, close_action, set_impact, set_severity, set_status
from runbook_lib.incident.record import INCIDENT_FILE, create_incident, load_incident

T0 = pd.Timestamp("2025-10-24T14:00:00", tz="UTC")


def _incident(root: Path) -> str:
    return str(create_incident("API 5xx", root=root, now=T0, started_at="2025-10-24T13:50:00Z")["id"])


def test_severity_history_records_from_to_at_by_why(tmp_path: Path) -> None:
    inc = _incident(tmp_path)
    set_severity(inc, "P2", why="elevated 5xx", at="2025-10-24T14:05:00Z", by="bob", root=tmp_path)
    set_severity(inc, "P1", why="checkout broken", at="2025-10-24T14:20:00Z", by="alice", root=tmp_path)
    record = load_incident(inc, tmp_path)
    assert record["severity"] == "P1"
    assert record["severity_history"] == [
        {"from": None, "to": "P2", "at": "2025-10-24T14:05:00+00:00", "by": "bob", "why": "elevated 5xx"},
        {"from": "P2", "to": "P1", "at": "2025-10-24T14:20:00+00:00", "by": "alice", "why": "checkout broken"},
    ]
    events = [e["event"] for e in record["timeline"] if e["kind"] == "severity"]
    assert events == ["severity unassessed → P2: elevated 5xx", "severity P2 → P1: checkout broken"]


def test_notes_actions_impact_and_status(tmp_path: Path) -> None:
    inc = _incident(tmp_path)
    add_note(inc, "restarted api-2", at="2025-10-24T14:10:00Z", root=tmp_path)
    add_action(inc, "Add pool monitoring", owner="SRE", due="2025-11-05", root=tmp_path)
    add_action(inc, "Raise pool size", owner="DevOps", due="2025-11-01", root=tmp_path)
    close_action(inc, 2, root=tmp_path)
    set_impact(inc, services=["checkout", "api"], users="12%", commander="Alice", root=tmp_path)
    set_status(inc, "acknowledged", "2025-10-24T14:03:00Z", root=tmp_path)
    set_status(inc, "resolved", "2025-10-24T15:10:00Z", note="pool raised", root=tmp_path)
    record = load_incident(inc, tmp_path)
    assert record["notes"][0]["text"] == "restarted api-2"
    assert [(i["number"], i["owner"], i["due"], i["status"]) for i in record["action_items"]] == [
        (1, "SRE", "2025-11-05", "Open"),
        (2, "DevOps", "2025-11-01", "Done"),
    ]
    assert record["affected_services"] == ["api", "checkout"] and record["affected_users"] == "12%"
    assert record["commander"] == "Alice" and record["status"] == "resolved"
    ats = [pd.Timestamp(e["at"]) for e in record["timeline"]]
    assert ats == sorted(ats)


@pytest.mark.parametrize(
    "change",
    [
        lambda inc, root: set_status(inc, "acknowledged", "2025-10-24T13:40:00Z", root=root),  # before impact start
        lambda inc, root: set_status(inc, "done", root=root),
        lambda inc, root: set_status(inc, "resolved", "not a time", root=root),
        lambda inc, root: add_action(inc, "x", owner="SRE", due="2025-13-01", root=root),
        lambda inc, root: add_action(inc, "x", owner="", due="2025-11-01", root=root),
        lambda inc, root: close_action(inc, 3, root=root),
        lambda inc, root: set_severity(inc, "P9", root=root),
        lambda inc, root: add_note(inc, "  ", root=root),
    ],
)
def test_refused_input_changes_nothing(tmp_path: Path, change: object) -> None:
    inc = _incident(tmp_path)
    path = tmp_path / inc / INCIDENT_FILE
    before = path.read_bytes()
    with pytest.raises(ParameterError) as err:
        change(inc, tmp_path)  # type: ignore[operator]
    assert "\n" not in str(err.value)
    assert path.read_bytes() == before


@pytest.mark.parametrize("bad", ["../x", "INC-2025-10-24-999", "INC-2025-10-24-001/../../etc"])
def test_missing_or_path_like_ids_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ParameterError):
        add_note(bad, "x", root=tmp_path)
    assert list(tmp_path.iterdir()) == []


def _write_notes(args: tuple[str, str, str, int]) -> None:
    root, inc, who, n = args
    for i in range(n):
        add_note(inc, f"{who} {i}", root=Path(root))
        add_action(inc, f"{who} action {i}", owner=who, due="2030-01-01", root=Path(root))


def test_two_writers_at_once_lose_nothing(tmp_path: Path) -> None:
    inc = _incident(tmp_path)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.map(_write_notes, [(str(tmp_path), inc, "a", 25), (str(tmp_path), inc, "b", 25)])
    record = load_incident(inc, tmp_path)
    assert sorted(n["text"] for n in record["notes"]) == sorted(f"{w} {i}" for w in "ab" for i in range(25))
    assert sorted(i["number"] for i in record["action_items"]) == list(range(1, 51))
    assert sum(e["kind"] == "note" for e in record["timeline"]) == 50
