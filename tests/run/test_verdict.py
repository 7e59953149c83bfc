"""The report's verdict block: backtick-quoted commands read as code, hostile text stays escaped."""

from __future__ import annotations

from runbook_lib.run.verdict import verdict_html


def test_code_spans_in_findings_and_steps_render_as_code_and_stay_escaped() -> None:
    doc = {
        "findings": [{"kind": "x", "severity": "high", "summary": "429s on `/api/search` from `<script>`"}],
        "next_steps": ["Run `kill -TERM 42` then check", "A lone ` backtick stays"],
        "sources": [],
    }
    out = verdict_html(doc)
    assert "<code>/api/search</code>" in out and "<code>&lt;script&gt;</code>" in out
    assert "<code>kill -TERM 42</code>" in out and "A lone ` backtick stays" in out
    assert "<script>" not in out and "`/api/search`" not in out
