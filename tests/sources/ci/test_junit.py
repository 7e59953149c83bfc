"""JUnit as real runners write it: the shared samples, hostile XML, and a real pytest run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runbook_lib.sources.ci.junit import ReportError, parse_time_s, parse_timestamp, read_report
from runbook_lib.sources.ci.runs import collect_ci_runs

DATA = Path(__file__).resolve().parents[2] / "data" / "junit"


def rows_of(name: str) -> list[dict]:  # type: ignore[type-arg]
    return read_report((DATA / name).read_bytes(), name=name)[0]


def test_surefire_flaky_and_rerun_attempts_are_counted_not_trusted_counters() -> None:
    (flaky,) = rows_of("jenkins_surefire_TEST-io.olamy.FlakyTest.xml")
    assert flaky["outcome"] == "passed" and flaky["attempts"] == 3 and flaky["failed_attempts"] == 2
    assert flaky["message"] == "try one more time maybe"
    (always,) = rows_of("jenkins_surefire_TEST-io.olamy.AlwaysFailTest.xml")
    assert always["outcome"] == "failed" and always["attempts"] == 4 and always["failed_attempts"] == 4


def test_jest_suite_failed_to_run_is_a_suite_error() -> None:
    rows = rows_of("dorny_jest-suite-failed-to-run.xml")
    assert [(r["test_id"], r["outcome"]) for r in rows] == [
        ("libs/foo.spec.ts", "suite_error"),
        ("libs/bar.spec.ts", "suite_error"),
    ]
    assert "TS6258" in rows[0]["detail"]


def test_nested_suites_times_and_timestamps() -> None:
    nested = rows_of("jenkins_nested-testsuites.xml")
    assert {r["outcome"] for r in nested} == {"passed", "suite_error"} and len(nested) == 3
    bad = rows_of("jenkins_bad-duration.xml")
    assert len(bad) == 2 and bad[0]["time_s"] != bad[0]["time_s"] and bad[1]["time_s"] == 100.0
    assert parse_time_s("1,234.5") == 1234.5 and parse_time_s(None) != parse_time_s(None)
    assert str(parse_timestamp("2024-01-03T 12:40:13")) == "2024-01-03 12:40:13+00:00"
    assert str(parse_timestamp("2024-01-03T12:27:11.21-01:00")) == "2024-01-03 13:27:11.210000+00:00"
    assert str(parse_timestamp("2021-03-07T10:36:56 UTC")) == "2021-03-07 10:36:56+00:00"
    assert parse_timestamp("1970-01-01T00:00:00") is None


def test_pytest_skip_xfail_and_params_kept() -> None:
    rows = {r["test_id"]: r["outcome"] for r in rows_of("dorny_python-xunit-pytest.xml")}
    assert rows["tests.test_lib::test_parameterized[param2]"] == "passed"
    assert rows["tests.test_lib::test_expected_failure"] == "skipped"
    assert rows["tests.test_lib::test_always_fail"] == "failed"


def test_hostile_xml_is_refused_in_one_line() -> None:
    with pytest.raises(ReportError, match="refused unsafe XML") as info:
        read_report((DATA / "testXxe-xxe.xml").read_bytes(), name="testXxe-xxe.xml")
    assert "\n" not in str(info.value)


def test_a_run_folder_with_hostile_and_empty_reports_is_partial(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    for name in ("testXxe-xxe.xml", "TEST-org.apache.pulsar.AddMissingPatchVersionTest.xml"):
        shutil.copy(DATA / name, run / name)
    (run / "run.json").write_text(
        '{"run_id": "r1", "commit": "abc123", "branch": "main", "started_at": "2026-01-01T00:00:00Z"}'
    )
    empty = tmp_path / "runs" / "r2"
    empty.mkdir()
    shutil.copy(DATA / "dorny_empty_jest-junit-empty-testsuite.xml", empty / "junit.xml")
    ci = collect_ci_runs(str(tmp_path / "runs"))
    assert ci.status == "partial" and "testXxe-xxe.xml" in ci.reason
    runs = ci.meta["runs"].set_index("run_id")
    assert runs.loc["r2", "note"] == "ran no tests"
    # TestNG retry: skipped then failed → one test, final outcome failed, two attempts.
    (row,) = ci.frame[ci.frame["run_id"] == "r1"].to_dict("records")
    assert row["outcome"] == "failed" and row["attempts"] == 2 and row["commit"] == "abc123"


def test_real_pytest_rerunfailures_report(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "tests").mkdir(parents=True)
    counter = tmp_path / "count"
    (project / "tests" / "test_x.py").write_text(
        "import pytest\n"
        f"CNT = {str(counter)!r}\n"
        "def test_ok(): pass\n"
        "@pytest.mark.parametrize('n', [1, 2])\n"
        "def test_param(n): assert n == 1\n"
        "@pytest.fixture\n"
        "def db(): raise RuntimeError('db down')\n"
        "def test_setup(db): pass\n"
        "def test_flaky():\n"
        "    import os\n"
        "    n = int(open(CNT).read()) if os.path.exists(CNT) else 0\n"
        "    open(CNT, 'w').write(str(n + 1))\n"
        "    assert n >= 1\n"
    )
    runs = tmp_path / "runs" / "r1"
    runs.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--reruns", "2",
         f"--junitxml={runs / 'junit.xml'}", "tests"],
        cwd=project, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    ci = collect_ci_runs(str(tmp_path / "runs"))
    got = ci.frame.set_index("test_id")
    assert got.loc["tests.test_x::test_param[2]", "outcome"] == "failed"
    assert got.loc["tests.test_x::test_param[2]", "attempts"] == 3
    assert got.loc["tests.test_x::test_setup", "outcome"] == "error"
    assert bool(got.loc["tests.test_x::test_flaky", "passed_on_retry"]) is True
    assert bool(got.loc["tests.test_x::test_ok", "passed_on_retry"]) is False


def test_doctype_behind_a_comment_or_in_utf16_is_still_refused() -> None:
    xxe = (DATA / "testXxe-xxe.xml").read_bytes().decode("latin-1")
    body = xxe.split("?>", 1)[1]
    hidden = "<!-- a comment first -->" + body
    with pytest.raises(ReportError, match="refused unsafe XML"):
        read_report(hidden.encode(), name="comment.xml")
    utf16 = ('<?xml version="1.0" encoding="UTF-16"?>' + body).encode("utf-16")
    with pytest.raises(ReportError, match="refused unsafe XML|not well-formed"):
        read_report(utf16, name="utf16.xml")
    with pytest.raises(ReportError, match="not well-formed"):
        read_report(b"<testsuites><testcase name='&oob;'/></testsuites>", name="undefined-entity.xml")
