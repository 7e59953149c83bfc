"""Reports people trust: verdict first, readable tables, the archive index, rebuild and purge.

One real triage run on the demo incident feeds the HTML assertions, the index and rebuild;
purge runs on back-dated incidents with hand-made run folders (no notebook needed).
"""

from __future__ import annotations

import fcntl
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from bs4 import BeautifulSoup

from runbook_lib import store
from runbook_lib.cli import main
from runbook_lib.incident import record as incident
from runbook_lib.run import retention
from runbook_lib.run.catalog import incident_rows
from runbook_lib.run.runner import RunResult, run_flow

_CELL = re.compile(r"<td\b[^>]*>(.*?)</td>", re.S)


@pytest.fixture
def triage_run(kit_home: Path, demo: dict[str, Any], tmp_path: Path) -> RunResult:
    inc = str(incident.create_incident("API 5xx after deploy")["id"])
    params = tmp_path / "demo.yaml"
    params.write_text(yaml.safe_dump(demo["param_values"]))
    result = run_flow("triage", inc, files=[params])
    assert result.status == "ok", result.error
    return result


def test_report_reads_verdict_first_and_tables_are_human(
    triage_run: RunResult, kit_home: Path, demo: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Serialised once by an HTML parser: attribute quoting is the exporter's choice, not a finding.
    page = str(BeautifulSoup(triage_run.report.read_text(), "html.parser"))
    verdict = re.search(r"id=[\"']verdict[\"']", page).start()  # type: ignore[union-attr]
    assert verdict < page.index("<img"), "the verdict must precede the first chart"
    assert verdict < page.index("<table"), "and the first table"
    block = page[verdict : page.index("</div>", verdict)]
    assert demo["bad_deploy_sha"][:7] in block and "Suggested severity: P2" in block
    assert "respond: 1 hour" in block and "resolve within: 24 hours" in block
    assert 'class="rb-sev rb-sev-high">HIGH</span>' in block and "Sources:" in block
    for mark in ("🟥", "🟧", "🟨", "🟦", "⬜", "❔"):
        assert mark not in page
    cells = [re.sub(r"<[^>]+>", "", c) for c in _CELL.findall(page)]
    assert len(cells) > 50
    # A 9-digit run inside an identifier (a commit sha) is not a raw number.
    assert not [c for c in cells if re.search(r"(?<![\w.])\d{9,}(?!\w)", c)], "raw 9-digit numbers in a cell"
    assert not [c for c in cells if re.search(r":\d\d\.\d{4,}", c)], "sub-millisecond timestamps in a cell"
    assert not re.search(r"<tbody>\s*<tr>\s*<th", page), "a pandas index column"
    assert "<th>rss_bytes</th>" not in page and re.search(r"<th[^>]*>deployed \(UTC\)</th>", page)
    assert re.search(r">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d<", page)  # timestamps to the second
    # The raw values stay in the archived notebook.
    nb = json.loads((triage_run.run_dir / "report.ipynb").read_text())
    plain = "".join("".join(o.get("data", {}).get("text/plain", "")) for c in nb["cells"] for o in c.get("outputs", []))
    assert "elapsed_s" in plain

    # The archive-wide index lists the incident with its verdict; newest first.
    second = str(incident.create_incident("calm second")["id"])
    assert main(["pin", second]) == 0  # any incident change refreshes reports/index.html
    index = (kit_home / "reports" / "index.html").read_text()
    assert index.index(second) < index.index(triage_run.incident_id)
    assert "API 5xx after deploy" in index, index
    assert demo["bad_deploy_sha"][:7] in index, index
    assert "<script" not in index and "default-src 'none'" in index
    capsys.readouterr()
    assert main(["list-incidents", "--since", "1d"]) == 0
    listed = capsys.readouterr().out
    assert listed.index(second) < listed.index(triage_run.incident_id) and "[pinned]" in listed

    # Rebuild after the HTML is lost.
    triage_run.report.unlink()
    (triage_run.run_dir.parent / "index.html").unlink()
    assert main(["rebuild", triage_run.incident_id, triage_run.run_dir.name[:2]]) == 0
    assert re.search(r"id=[\"']verdict[\"']", triage_run.report.read_text())
    assert triage_run.run_dir.name in (triage_run.run_dir.parent / "index.html").read_text()


def _backdated(root: Path, title: str, *, resolved_days: float | None, **extra: Any) -> Path:
    now = pd.Timestamp.now(tz="UTC")
    opened = now - pd.Timedelta(days=(resolved_days or 0) + 1)
    record = incident.create_incident(title, root=root, now=opened)

    def change(r: dict[str, Any]) -> None:
        if resolved_days is not None:
            r["status"] = "resolved"
            r["milestones"]["resolved_at"] = (now - pd.Timedelta(days=resolved_days)).isoformat()
        r.update(extra)

    incident.update_incident(str(record["id"]), change, root)
    run = root / str(record["id"]) / "01-triage-20260101T000000Z"
    run.mkdir()
    for name in ("report.ipynb", "report.html", "inputs.json", "parameters.json"):
        (run / name).write_text("x" * 1000)
    store.write_json(run / "run.json", {"flow": "triage", "status": "ok"})
    store.write_json(run / "findings.json", {"findings": [{"severity": "high", "summary": "old verdict"}]})
    (run / "postmortem.md").write_text("# what we learned")
    return run


def test_purge_keeps_records_and_respects_pins_actions_and_dry_run(
    kit_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = kit_home / "reports"
    ancient = _backdated(root, "resolved 120 days ago", resolved_days=120)
    middle = _backdated(root, "resolved 60 days ago", resolved_days=60)
    recent = _backdated(root, "resolved 3 days ago", resolved_days=3)
    pinned = _backdated(root, "pinned", resolved_days=200, pinned=True)
    action = _backdated(
        root, "open action", resolved_days=200, actions=[{"title": "add alert", "status": "open"}, "bad item"]
    )
    still_open = _backdated(root, "still open", resolved_days=None)
    every = (ancient, middle, recent, pinned, action, still_open)
    before = {p: sorted(x.name for x in p.iterdir()) for p in every}

    assert main(["purge", "--older-than", "90d", "--keep-heavy", "30d", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"{ancient.parent.name}: would drop 4 file(s)" in out
    assert f"{middle.parent.name}: would drop 2 file(s)" in out
    assert f"{pinned.parent.name}: kept (pinned)" in out and f"{action.parent.name}: kept (2 open action" in out
    assert {p: sorted(x.name for x in p.iterdir()) for p in every} == before, "a dry run deletes nothing"

    assert main(["purge", "--older-than", "90d", "--keep-heavy", "30d"]) == 0
    kept = ["findings.json", "postmortem.md", "run.json"]
    assert sorted(x.name for x in ancient.iterdir()) == kept
    assert sorted(x.name for x in middle.iterdir()) == ["findings.json", "inputs.json", "parameters.json", *kept[1:]]
    for untouched in (recent, pinned, action, still_open):
        assert sorted(x.name for x in untouched.iterdir()) == before[untouched]
    assert (ancient.parent / "incident.json").exists()
    assert "purge: dropped 4 file(s)" in (ancient.parent / "incident.json").read_text()
    log = [json.loads(line) for line in (root / "purge.log").read_text().splitlines()]
    assert [e["dry_run"] for e in log if e["incident"] == ancient.parent.name] == [True, False]
    # The indexes no longer link to a purged report, and still show its verdict.
    assert "report.html'" not in (ancient.parent / "index.html").read_text()
    row = next(r for r in incident_rows(root) if r.id == ancient.parent.name)
    assert row.verdict == "old verdict" and row.duration_s == pytest.approx(86400, rel=0.01)

    # A second purge while one holds the lock is refused, with one line and exit 1.
    with (root / retention.LOCK_FILE).open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        assert main(["purge", "--older-than", "90d"]) == 1
    assert "another purge is running" in capsys.readouterr().err
    assert main(["purge", "--older-than", "soon"]) == 2
