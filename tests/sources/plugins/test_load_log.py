"""Plugin load records from a real app log file: only plugin/agent/command/skill records,
only in the window, any layout the app-log reader knows."""

from __future__ import annotations

from pathlib import Path

from runbook_lib.sources.plugins.load_log import collect_plugin_load_log
from runbook_lib.timewindow import parse_window


def test_keeps_plugin_records_in_the_window(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(
        '{"time": "2026-12-01T10:00:00Z", "level": "error", "msg": "Failed to load agent db-doctor: bad YAML"}\n'
        '{"time": "2026-12-01T10:01:00Z", "level": "error", "msg": "payment provider timeout"}\n'
        "2026-12-01T10:02:00Z ERROR [plugins] plugin not found: oncall\n"
        'ts=2026-12-01T10:03:00Z level=warn msg="skipping command /triage: no description"\n'
        '{"time": "2026-12-01T08:00:00Z", "level": "error", "msg": "Failed to load agent old"}\n',
        encoding="utf-8",
    )
    result = collect_plugin_load_log(str(log), window=parse_window("2026-12-01T09:30:00Z", "2026-12-01T11:00:00Z"))
    assert result.status == "ok" and result.source == "plugin_load_log"
    assert list(result.frame["message"]) == [
        "Failed to load agent db-doctor: bad YAML",
        "plugin not found: oncall",
        "skipping command /triage: no description",
    ]
    assert list(result.frame["level"]) == ["error", "error", "warning"]


def test_not_configured_and_missing(tmp_path: Path) -> None:
    skipped = collect_plugin_load_log("")
    assert skipped.status == "skipped" and skipped.source == "plugin_load_log"
    assert collect_plugin_load_log(str(tmp_path / "missing.log")).status == "unavailable"
