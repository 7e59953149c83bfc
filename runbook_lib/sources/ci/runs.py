"""A CI history: a folder of runs, each a folder of JUnit reports plus ``run.json``.

Layout of ``ci_runs``: one sub-folder per run holding ``run.json`` (``run_id``, ``commit``,
``branch``, ``started_at``, optional ``url``, ``job``) and any ``*.xml`` / ``*.xml.gz``
(searched recursively); a top-level XML file is a run of its own (time from its
``timestamp``, commit unknown). Runs are numbered in start order (``run_index``).

Frame (:data:`TESTS_SCHEMA`): one row per (run, test). Reruns are folded: a test written
more than once in a run (pytest-rerunfailures, gotestsum ``--rerun-fails``, box/flaky) or
carrying Surefire ``flakyFailure``/``rerunFailure`` elements counts every attempt; the
outcome is the *last* attempt's (pytest-rerunfailures writes a failed attempt as an empty
``<testcase>`` before the final one), ``passed_on_retry`` when it passed after more than one
attempt. ``meta["runs"]`` (:data:`RUNS_SCHEMA`) has one row per run, including runs that
"ran no tests"; ``meta["files"]`` (:data:`FILES_SCHEMA`) one row per report with its status.

When the folder is missing the result is ``unavailable``; an unreadable or refused report
(DOCTYPE/XXE) is one ``error`` row in ``meta["files"]`` and the result is ``partial``.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from runbook_lib.collected import Collected, conform, empty_frame, skipped
from runbook_lib.errors import ParameterError
from runbook_lib.paths import resolve
from runbook_lib.sources.ci.junit import ReportError, parse_timestamp, read_report
from runbook_lib.store import StoreError, read_json_object
from runbook_lib.timewindow import parse_time

__all__ = ["FILES_SCHEMA", "RUNS_SCHEMA", "TESTS_SCHEMA", "collect_ci_runs"]

SOURCE = "ci_runs"
#: Largest report read (decompressed): a 1 GB XML is a broken artefact, not evidence.
MAX_REPORT_BYTES = 256 * 1024 * 1024
FAILING = ("failed", "error", "suite_error")

TESTS_SCHEMA: dict[str, str] = {
    "run_id": "string",
    "run_index": "int64",
    "started_at": "datetime64[ns, UTC]",
    "commit": "string",
    "branch": "string",
    "test_id": "string",
    "suite": "string",
    "classname": "string",
    "name": "string",
    "file": "string",
    "outcome": "string",
    "attempts": "int64",
    "failed_attempts": "int64",
    "passed_on_retry": "bool",
    "flaky_marked": "bool",
    "time_s": "float64",
    "message": "string",
    "detail": "string",
    "report": "string",
}
RUNS_SCHEMA: dict[str, str] = {
    "run_id": "string",
    "run_index": "int64",
    "started_at": "datetime64[ns, UTC]",
    "commit": "string",
    "short_sha": "string",
    "branch": "string",
    "job": "string",
    "url": "string",
    "reports": "int64",
    "unreadable": "int64",
    "tests": "int64",
    "passed": "int64",
    "failed": "int64",
    "errors": "int64",
    "skipped": "int64",
    "suite_errors": "int64",
    "note": "string",
}
FILES_SCHEMA: dict[str, str] = {
    "run_id": "string",
    "report": "string",
    "status": "string",
    "reason": "string",
    "tests": "int64",
}


def _read_bytes(path: Path) -> bytes:
    with path.open("rb") as fh:
        head = fh.read(2)
        fh.seek(0)
        if head == b"\x1f\x8b":
            data = gzip.GzipFile(fileobj=fh).read(MAX_REPORT_BYTES + 1)
        else:
            data = fh.read(MAX_REPORT_BYTES + 1)
    if len(data) > MAX_REPORT_BYTES:
        raise ReportError(f"{path.name}: larger than {MAX_REPORT_BYTES // 2**20} MB")
    return data


def _reports(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name.lower().endswith((".xml", ".xml.gz")))


def _fold(attempts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One record per test: attempts summed, outcome of the last, slowest time, last failure text."""
    out: dict[str, dict[str, Any]] = {}
    for row in attempts:
        key = row["test_id"]
        seen = out.get(key)
        if seen is None:
            out[key] = dict(row)
            continue
        seen["attempts"] += row["attempts"]
        seen["failed_attempts"] += row["failed_attempts"]
        seen["flaky_marked"] = seen["flaky_marked"] or row["flaky_marked"]
        if not (row["time_s"] <= seen["time_s"]):  # NaN-safe max
            seen["time_s"] = row["time_s"] if row["time_s"] == row["time_s"] else seen["time_s"]
        seen["outcome"] = row["outcome"]
        if row["message"]:
            seen["message"], seen["detail"] = row["message"], row["detail"]
    return out


def _read_run(
    run_id: str, paths: list[Path], base: Path, meta: dict[str, Any], files: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    attempts: list[dict[str, Any]] = []
    stamps: list[pd.Timestamp] = []
    unreadable = 0
    for path in paths:
        rel = str(path.relative_to(base))
        try:
            rows, stamp = read_report(_read_bytes(path), name=rel)
        except ReportError as err:
            files.append({"run_id": run_id, "report": rel, "status": "error", "reason": str(err), "tests": 0})
            unreadable += 1
            continue
        except (OSError, EOFError, zlib.error) as err:
            reason = f"{rel}: cannot read ({type(err).__name__}: {err})"
            files.append({"run_id": run_id, "report": rel, "status": "error", "reason": reason, "tests": 0})
            unreadable += 1
            continue
        if stamp is not None:
            stamps.append(stamp)
        status, reason = ("ok", "") if rows else ("empty", f"{rel}: ran no tests")
        files.append({"run_id": run_id, "report": rel, "status": status, "reason": reason, "tests": len(rows)})
        for row in rows:
            row["report"] = rel
        attempts.extend(rows)
    tests = list(_fold(attempts).values())
    for row in tests:
        row["passed_on_retry"] = row["outcome"] == "passed" and row["attempts"] > 1
    started = parse_timestamp(str(meta.get("started_at") or "")) or (min(stamps) if stamps else None)
    commit = str(meta.get("commit") or "")
    counts = {k: sum(1 for r in tests if r["outcome"] == k) for k in ("passed", "failed", "error", "skipped")}
    suite_errors = sum(1 for r in tests if r["outcome"] == "suite_error")
    note = ""
    if not paths:
        note = "no reports"
    elif unreadable == len(paths):
        note = "no readable report"
    elif not tests:
        note = "ran no tests"
    run = {
        "run_id": str(meta.get("run_id") or run_id),
        "started_at": started,
        "commit": commit,
        "short_sha": commit[:8],
        "branch": str(meta.get("branch") or ""),
        "job": str(meta.get("job") or ""),
        "url": str(meta.get("url") or ""),
        "reports": len(paths),
        "unreadable": unreadable,
        "tests": len(tests) - suite_errors,
        "passed": counts["passed"],
        "failed": counts["failed"],
        "errors": counts["error"],
        "skipped": counts["skipped"],
        "suite_errors": suite_errors,
        "note": note,
    }
    return run, tests


def _bound(value: str, key: str) -> pd.Timestamp | None:
    return parse_time(value, key=key) if str(value).strip() else None


def collect_ci_runs(
    ci_runs: str,
    *,
    start: str = "",
    end: str = "",
    branch: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> Collected:
    """Every run under *ci_runs* that started in ``[start, end)`` (empty = unbounded) on *branch*.

    ``meta["runs"]`` and ``meta["files"]`` are always typed frames, empty when the folder
    is not configured or missing, so every table of the flow still renders. *progress*
    (done, total) is told after each entry of the folder (a bar in JupyterLab).
    """
    result = _collect_ci_runs(ci_runs, start=start, end=end, branch=branch, progress=progress)
    result.meta.setdefault("runs", empty_frame(RUNS_SCHEMA))
    result.meta.setdefault("files", empty_frame(FILES_SCHEMA))
    return result


def _collect_ci_runs(
    ci_runs: str, *, start: str, end: str, branch: str, progress: Callable[[int, int], None] | None
) -> Collected:
    if not str(ci_runs).strip():
        return skipped(SOURCE, TESTS_SCHEMA, "no ci_runs folder configured")
    lo, hi = _bound(start, "start"), _bound(end, "end")
    if lo is not None and hi is not None and hi <= lo:
        raise ParameterError("the window ends before it starts", key="end")
    folder = resolve(str(ci_runs).strip())
    if not folder.is_dir():
        return Collected(SOURCE, str(folder), empty_frame(TESTS_SCHEMA), status="unavailable", reason="no such folder")
    files: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    tests: list[dict[str, Any]] = []
    entries = sorted(folder.iterdir())
    for done, entry in enumerate(entries, 1):
        if progress is not None:
            progress(done, len(entries))
        if entry.is_dir():
            meta: dict[str, Any] = {}
            if (entry / "run.json").is_file():
                try:
                    meta = read_json_object(entry / "run.json")
                except StoreError as err:
                    files.append(
                        {
                            "run_id": entry.name,
                            "report": f"{entry.name}/run.json",
                            "status": "error",
                            "reason": f"{entry.name}/run.json: {err}",
                            "tests": 0,
                        }
                    )
            run, rows = _read_run(entry.name, _reports(entry), folder, meta, files)
        elif entry.name.lower().endswith((".xml", ".xml.gz")):
            run, rows = _read_run(entry.name.split(".")[0], [entry], folder, {}, files)
        else:
            continue
        if branch and run["branch"] != branch:
            continue
        at = run["started_at"]
        if at is not None and ((lo is not None and at < lo) or (hi is not None and at >= hi)):
            continue
        for row in rows:
            row["run_id"], row["started_at"], row["commit"], row["branch"] = (
                run["run_id"],
                at,
                run["commit"],
                run["branch"],
            )
        runs.append(run)
        tests.extend(rows)
    runs_frame = empty_frame(RUNS_SCHEMA)
    if runs:
        raw = pd.DataFrame(runs)
        raw["started_at"] = pd.to_datetime(raw["started_at"], utc=True)
        raw = raw.sort_values(["started_at", "run_id"], na_position="first", kind="stable").reset_index(drop=True)
        raw["run_index"] = range(len(raw))
        runs_frame = conform(raw, RUNS_SCHEMA)[list(RUNS_SCHEMA)]
    frame = _tests_frame(tests, runs_frame)
    files_frame = conform(pd.DataFrame(files), FILES_SCHEMA) if files else empty_frame(FILES_SCHEMA)
    bad = files_frame[files_frame["status"] == "error"]
    result = Collected(SOURCE, str(folder), frame, lines_read=len(files_frame), lines_skipped=len(bad))
    result.meta = {"runs": runs_frame, "files": files_frame}
    for reason in bad["reason"].head(5):
        result.add_sample(str(reason))
    if runs_frame.empty:
        result.status, result.reason = "unavailable", "no CI runs found in the window"
    elif len(bad):
        result.status = "partial"
        result.reason = f"{len(bad)} of {len(files_frame)} reports unreadable; first: {bad['reason'].iloc[0]}"
    else:
        result.reason = f"{len(runs_frame)} runs, {len(files_frame)} reports"
    return result


def _tests_frame(tests: list[dict[str, Any]], runs: pd.DataFrame) -> pd.DataFrame:
    if not tests:
        return empty_frame(TESTS_SCHEMA)
    frame = pd.DataFrame(tests)
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
    index = dict(zip(runs["run_id"], runs["run_index"], strict=True))
    frame["run_index"] = frame["run_id"].map(index).astype("int64")
    frame = conform(frame, TESTS_SCHEMA)[list(TESTS_SCHEMA)]
    return frame.sort_values(["run_index", "test_id"], kind="stable").reset_index(drop=True)
