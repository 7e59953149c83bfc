"""Severity ladders of the CI, plugin, host and PostgreSQL-log findings at their boundaries.

CI histories are real JUnit folders, plugin load logs and PostgreSQL logs real files read by
the kit's readers; host series are sample frames shaped as the sampler records them (as in
test_cpu.py). One step below a threshold gives the lower grade, the threshold the higher.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd

from runbook_lib.analysis import tests_history as th
from runbook_lib.analysis.ci_findings import FLAKY_MEDIUM_FAILURES, TIMEOUT_MEDIUM_RUNS, find_ci_findings
from runbook_lib.analysis.cpu import CULPRIT_MIN_BUSY_SAMPLES, correlate_cpu_with_traffic, find_cpu_culprit
from runbook_lib.analysis.memory_metrics import GC_RISE_FACTOR, find_gc_activity
from runbook_lib.analysis.pg_log_events import PG_NOISE_COUNT, find_pg_log_findings
from runbook_lib.analysis.plugins import MANY_LOAD_ERRORS, detect_plugin_problems, find_plugin_findings
from runbook_lib.collected import Collected, skipped
from runbook_lib.sources.ci.runs import collect_ci_runs
from runbook_lib.sources.pg.log import collect_pg_log
from runbook_lib.sources.plugins import collect_plugin_files, collect_plugin_load_log

T0 = pd.Timestamp("2026-11-27T04:00:00Z")
PLUGINS = Path(__file__).resolve().parents[1] / "data" / "plugins" / "clean"
TIMEOUT = 'thrown: "Exceeded timeout of 5000 ms for a test.'


def _ci(folder: Path, failing: dict[int, str], runs: int = 12) -> dict[str, object]:
    """*runs* CI runs of five tests on successive commits; ``tests::flaky`` fails with the
    message in *failing* at those run numbers; the CI findings by kind."""
    for i in range(runs):
        cases = []
        for name in ("a", "b", "c", "d", "flaky"):
            message = failing.get(i, "") if name == "flaky" else ""
            body = f"<failure message={quoteattr(message)}>{message}</failure>" if message else ""
            cases.append(f'<testcase classname="tests" name="{name}" time="0.2">{body}</testcase>')
        run = folder / f"run-{i:03d}"
        run.mkdir(parents=True)
        meta = {"run_id": f"ci-{i}", "commit": f"{i:040x}", "branch": "main",
                "started_at": (T0 + pd.Timedelta(hours=i)).isoformat()}  # fmt: skip
        (run / "run.json").write_text(json.dumps(meta))
        (run / "junit.xml").write_text(f'<testsuites><testsuite name="t">{"".join(cases)}</testsuite></testsuites>')
    ci = collect_ci_runs(str(folder))
    assert ci.status == "ok", ci.reason
    infra = th.detect_infrastructure(ci.frame, ci.meta["runs"])
    history = th.rank_test_history(th.outcomes_per_test(ci.frame, infra))
    limit, hits = th.timeout_limit(ci.frame)
    found = find_ci_findings(
        ci,
        infra=infra,
        broken=th.detect_broken(history),
        flaky=th.detect_flaky(history, exclude=hits),
        timeout_hits=hits,
        trends=th.detect_timeout_trends(ci.frame, limit_s=limit),
        limit_s=limit,
    )
    return {f.kind: f.severity for f in found}


def test_a_flaky_test_is_medium_only_once_it_keeps_failing(tmp_path: Path) -> None:
    fails = {i: "AssertionError: raced" for i in (2, 5, 8, 10)}
    below = dict(list(fails.items())[: FLAKY_MEDIUM_FAILURES - 1])
    at = dict(list(fails.items())[:FLAKY_MEDIUM_FAILURES])
    assert _ci(tmp_path / "below", below)["flaky_test"] == "low"  # one flaky test failing now and then
    assert _ci(tmp_path / "at", at)["flaky_test"] == "medium"


def test_one_timeout_is_low_a_repeated_one_medium(tmp_path: Path) -> None:
    assert TIMEOUT_MEDIUM_RUNS == 2
    assert _ci(tmp_path / "once", {4: TIMEOUT})["test_timeout"] == "low"
    assert _ci(tmp_path / "twice", {4: TIMEOUT, 9: TIMEOUT})["test_timeout"] == "medium"


def _load_log(tmp_path: Path, errors: int, warnings: int) -> tuple[str, dict[str, object]]:
    records = [("info", "session started")] * 5
    records += [("error", "Failed to parse agent .claude/agents/db-doctor.md: YAMLException")] * errors
    records += [("warning", "skipping agent deploy:watcher: invalid agent name")] * warnings
    path = tmp_path / f"load-{errors}-{warnings}.log"
    path.write_text(
        "\n".join(
            json.dumps({"time": (T0 + pd.Timedelta(minutes=i)).isoformat(), "level": lvl, "logger": "agents", "msg": m})
            for i, (lvl, m) in enumerate(records)
        )
        + "\n"
    )
    files = collect_plugin_files(str(PLUGINS))
    problems = detect_plugin_problems(files.frame)
    none = skipped("plugin_history", {}, "not needed")
    found = find_plugin_findings(files, problems, none, none, collect_plugin_load_log(str(path)))
    (log,) = [f for f in found if f.kind == "plugin_load_log"]
    return log.severity, log.numbers


def test_plugin_load_log_warnings_are_not_errors(tmp_path: Path) -> None:
    assert _load_log(tmp_path, 0, 1)[0] == "low"  # a single warning: the component still loads
    assert _load_log(tmp_path, 0, MANY_LOAD_ERRORS - 1)[0] == "low"
    assert _load_log(tmp_path, 0, MANY_LOAD_ERRORS)[0] == "medium"  # warned every session
    assert _load_log(tmp_path, 1, 0)[0] == "medium"
    assert _load_log(tmp_path, MANY_LOAD_ERRORS - 1, 3)[0] == "medium"
    severity, numbers = _load_log(tmp_path, MANY_LOAD_ERRORS, 0)
    assert severity == "high" and numbers["errors"] == MANY_LOAD_ERRORS and numbers["warnings"] == 0


def _samples(busy: int, total: int = 12) -> Collected:
    """One process sampled every 2 s, *busy* of them (the last ones) at 97 % of a core."""
    rows = [
        {"sampled_at": T0 + pd.Timedelta(seconds=2 * i), "pid": 4242, "name": "api", "cmdline": "node server.js",
         "cpu_percent": 97.0 if i >= total - busy else 4.0}
        for i in range(total)
    ]  # fmt: skip
    return Collected("host.process_samples", "pid 4242", pd.DataFrame(rows))


def test_a_brief_cpu_spike_is_not_a_culprit() -> None:
    below = find_cpu_culprit(_samples(CULPRIT_MIN_BUSY_SAMPLES - 1), busy_percent=50)
    at = find_cpu_culprit(_samples(CULPRIT_MIN_BUSY_SAMPLES), busy_percent=50)
    assert (below.severity, at.severity) == ("low", "high")
    assert "brief spike" in below.summary and below.numbers["busy_samples"] == CULPRIT_MIN_BUSY_SAMPLES - 1


def test_one_spiky_cpu_sample_is_not_a_rise_without_traffic() -> None:
    at = T0 + pd.to_timedelta(np.arange(8) * 60, unit="s")
    times = [T0 + pd.Timedelta(minutes=m, seconds=s) for m in range(8) for s in range(0, 60, 2)]
    requests = Collected("access_log", "a.log", pd.DataFrame({"requested_at": pd.DatetimeIndex(times)}))
    spike = pd.DataFrame({"sampled_at": at, "cpu_percent": [20.0, 22, 21, 20, 21, 100, 22, 20]})
    sustained = pd.DataFrame({"sampled_at": at, "cpu_percent": [20.0, 22, 21, 20, 90, 92, 95, 93]})
    assert correlate_cpu_with_traffic(spike, requests).severity == "info"
    assert correlate_cpu_with_traffic(sustained, requests).severity == "high"


def _gc(later: float) -> str:
    at = list(T0 + pd.to_timedelta(np.arange(20) * 15, unit="s"))
    values = [0.2] * 10 + [0.2 * later] * 10
    frame = pd.DataFrame({"sampled_at": at, "query": "nodejs_gc_runs_per_s", "series": "instance=api", "value": values})
    return find_gc_activity(Collected("prometheus", "u", frame)).severity


def test_gc_rate_rising_means_by_half_again() -> None:
    assert _gc(GC_RISE_FACTOR - 0.05) == "info"  # a few percent of drift is noise
    assert _gc(GC_RISE_FACTOR) == "medium"


def _pg(tmp_path: Path, message: str, level: str, count: int) -> str:
    kinds = {"terminating connection": "pg_log_terminated", "password authentication": "pg_log_auth_failed"}
    kind = next(v for k, v in kinds.items() if message.startswith(k))
    lines = [
        f"{T0 + pd.Timedelta(seconds=5 * i):%Y-%m-%d %H:%M:%S}.000 UTC [{900 + i}] app@shop/web {level}:  {message}"
        for i in range(count)
    ] + [f"{T0 + pd.Timedelta(minutes=5):%Y-%m-%d %H:%M:%S}.000 UTC [999] app@shop/web LOG:  checkpoint complete"]
    path = tmp_path / f"pg-{kind}-{count}.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    got = collect_pg_log(str(path), log_line_prefix="%m [%p] %q%u@%d/%a ")
    assert got.status == "ok", got.reason
    return {f.kind: f.severity for f in find_pg_log_findings(got)}[kind]


def test_pg_log_background_events_need_volume(tmp_path: Path) -> None:
    term = "terminating connection due to idle-session timeout"
    auth = 'password authentication failed for user "grafana"'
    assert _pg(tmp_path, term, "FATAL", PG_NOISE_COUNT - 1) == "low"
    assert _pg(tmp_path, term, "FATAL", PG_NOISE_COUNT) == "medium"
    assert _pg(tmp_path, auth, "FATAL", 1) == "low"  # one client with a stale password
    assert _pg(tmp_path, auth, "FATAL", PG_NOISE_COUNT) == "medium"
