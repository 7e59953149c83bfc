"""Core contracts: time windows, redaction, Collected, findings.json, safe display."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from runbook_lib.collected import Collected, conform, empty_frame, guarded, skipped
from runbook_lib.errors import ParameterError, SourceUnavailable
from runbook_lib.findings import Finding, record_findings, unknown
from runbook_lib.notebook.display import clean_text, escape_md, md_text, safe_table
from runbook_lib.redact import carries_secret, redact
from runbook_lib.timewindow import parse_time, parse_window

NOW = pd.Timestamp("2026-03-14T15:00:00", tz="UTC")


def test_window_forms() -> None:
    w = parse_window("-2h", "now", now=NOW)
    assert (w.start, w.end) == (NOW - pd.Timedelta(hours=2), NOW)
    w = parse_window("", "2026-03-14T12:00:00+02:00", now=NOW)
    assert w.end == pd.Timestamp("2026-03-14T10:00:00", tz="UTC") and w.duration == pd.Timedelta(hours=2)
    w = parse_window("-30m", "2026-03-14T12:00", now=NOW)  # start relative to end; naive = UTC
    assert w.start == pd.Timestamp("2026-03-14T11:30:00", tz="UTC")
    assert parse_time("-1.5d", now=NOW) == NOW - pd.Timedelta(hours=36)


@pytest.mark.parametrize(("start", "end"), [("yesterday-ish", "now"), ("now", "-3h"), ("2026-01-02", "2026-01-01")])
def test_bad_windows_name_the_parameter(start: str, end: str) -> None:
    with pytest.raises(ParameterError) as err:
        parse_window(start, end, now=NOW)
    assert "start" in str(err.value) or "end" in str(err.value)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("postgresql://app:hunter2@db:5432/prod", "hunter2"),
        ("host=db user=app password=hunter2 dbname=x", "hunter2"),
        ("https://api.example.com/x?token=abc123def&x=1", "abc123def"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload", "eyJhbGciOiJIUzI1NiJ9"),
        ("redis://:s3cr3t@cache:6379/0", "s3cr3t"),
        ('password: "quoted secret"', "quoted secret"),
    ],
)
def test_redaction(text: str, secret: str) -> None:
    assert secret not in redact(text)
    assert carries_secret(text)
    assert carries_secret({"k": [text]})


def test_redaction_leaves_plain_text_alone() -> None:
    plain = "GET /api/users/42 HTTP/1.1 took 12 ms; user=bob"
    assert redact(plain) == plain and not carries_secret(plain)


def test_guarded_turns_source_errors_into_unavailable() -> None:
    schema = {"at": "datetime64[ns, UTC]", "n": "int64"}

    def broken() -> Collected:
        raise SourceUnavailable(
            "connection refused to postgresql://u:pw@h/db", source="pg", target="postgresql://u:pw@h/db"
        )

    result = guarded("pg", "postgresql://u:pw@h/db", schema, broken)
    assert result.status == "unavailable" and not result.usable
    assert list(result.frame.columns) == ["at", "n"] and str(result.frame["at"].dtype) == "datetime64[ns, UTC]"
    assert "pw" not in result.reason and "pw" not in result.target and "refused" in result.reason

    def bug() -> Collected:
        raise KeyError("programming error")

    with pytest.raises(KeyError):
        guarded("pg", "", schema, bug)


def test_conform_and_skipped() -> None:
    frame = conform(pd.DataFrame({"n": [1.0, 2.0], "extra": ["a", "b"]}), {"at": "datetime64[ns, UTC]", "n": "int64"})
    assert list(frame.columns) == ["at", "n", "extra"] and frame["n"].dtype == "int64"
    s = skipped("app_log", {"x": "int64"})
    assert s.status == "skipped" and s.frame.empty and not s.usable


def test_findings_json_is_redacted_and_ranked(tmp_path: Path) -> None:
    source = Collected(
        "pg", "postgresql://u:pw@h/db", empty_frame({"n": "int64"}), status="unavailable", reason="refused"
    )
    path = record_findings(
        flow="triage",
        incident_id="INC-2026-03-14-001",
        sources=[source],
        findings=[
            Finding("a", "info", "fine"),
            unknown("db", source, "whether the pool is exhausted"),
            Finding("b", "critical", "password=hunter2 leaked in a log line"),
        ],
        parameters={"pg_dsn_env": "DB_URL", "n": pd.Timestamp("2026-01-01", tz="UTC")},
        folder=tmp_path,
    )
    text = path.read_text()
    assert "hunter2" not in text and ":pw@" not in text
    doc = json.loads(text)
    assert [f["severity"] for f in doc["findings"]] == ["critical", "info", "unknown"]
    assert "unavailable" in doc["findings"][2]["summary"]
    assert doc["parameters"]["n"] == "2026-01-01T00:00:00+00:00"


def test_display_escapes_hostile_text() -> None:
    hostile = "<script>alert(1)</script> **bold** [x](javascript:alert(1)) \x1b[31mred\x1b[0m"
    out = md_text("line: {v}", v=hostile)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "\x1b" not in out and "\\*\\*bold\\*\\*" in out and "\\[x\\]" in out
    assert clean_text("A" * 1000, 50).endswith("…") and len(clean_text("A" * 1000, 50)) == 50
    table = safe_table(pd.DataFrame({"ua": ["x" * 500 + "\x1b[0m"], "n": [1]}))
    assert len(table["ua"].iloc[0]) <= 160 and "\x1b" not in table["ua"].iloc[0]
    assert escape_md("a_b") == "a\\_b"


def test_quotes_stay_readable_in_markdown() -> None:
    # An entity such as &#x27; would have its '#' backslash-escaped and show up literally.
    out = md_text("{v}", v='can\'t reach "db" & <b>')
    assert out == 'can\'t reach "db" &amp; &lt;b&gt;'
