"""CI test history → broken, flaky, infrastructure and timeout tables (pure: frames in).

Input: the frames of :func:`runbook_lib.sources.ci.runs.collect_ci_runs` (``tests`` one row
per (run, test), ``runs`` one row per run). Runs where the infrastructure failed (most tests
failed at once, a suite failed to run) are judged as runs, and their failures are left out
of each test's own history, so one outage does not make every test look flaky.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from runbook_lib.analysis.signatures import normalise

FAILING = ("failed", "error")
#: A run where at least this share of tests failed is an infrastructure failure: code
#: changes break a few tests, an outage (database down, runner out of disk) breaks most.
INFRA_FAIL_SHARE = 0.5
#: ...and at least this many, so a 3-test suite with 2 failures is not an "outage".
INFRA_MIN_FAILURES = 5
#: One error signature across this many tests of one run is a shared cause, not N bugs.
SIGNATURE_MIN_TESTS = 10
#: Failing runs in a row before a test counts as broken (one failure may be a flake).
BROKEN_MIN_STREAK = 2
#: Default thresholds of the flow (notebook parameters ``min_runs`` and ``flip_rate``):
#: below 5 runs a flip rate is noise; a test that changes outcome on 20% of consecutive
#: runs without a code change fails CI about once a week at a few runs a day.
MIN_RUNS = 5
FLIP_RATE = 0.2

TIMEOUT_PATTERNS: list[tuple[str, str, float]] = [
    ("pytest-timeout", r"Timeout \(?>\s*([\d.]+)\s*s", 1.0),
    ("jest", r"Exceeded timeout of (\d+(?:\.\d+)?) ?ms", 0.001),
    ("playwright", r"Test timeout of (\d+(?:\.\d+)?) ?ms exceeded", 0.001),
    ("mocha", r"Timeout of (\d+(?:\.\d+)?) ?ms exceeded", 0.001),
    ("go", r"panic: test timed out after ((?:\d+h)?(?:\d+m)?(?:[\d.]+s)?)", 0.0),
]


def _rows(frame: pd.DataFrame) -> Iterator[Any]:
    """Rows as named tuples, typed loosely (their fields are the frame's columns)."""
    return iter(frame.itertuples(index=False))


def _go_seconds(text: str) -> float:
    total = 0.0
    for value, unit in re.findall(r"([\d.]+)([hms])", text):
        total += float(value) * {"h": 3600, "m": 60, "s": 1}[unit]
    return total


def detect_infrastructure(tests: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Runs whose failures look like infrastructure: suite failed to run, most failed, shared signature.

    Columns: run_id, run_index, started_at, commit, kind, tests_affected, share, signature, example.
    """
    columns = ["run_id", "run_index", "started_at", "commit", "kind", "tests_affected", "share", "signature", "example"]
    rows: list[dict[str, object]] = []
    failing = tests[tests["outcome"].isin((*FAILING, "suite_error"))]
    sig = normalise(failing["message"].fillna("")) if not failing.empty else pd.Series(dtype="string")
    failing = failing.assign(signature=sig)
    by_run = failing.groupby("run_id", sort=False)
    for run in _rows(runs):
        base = {"run_id": run.run_id, "run_index": run.run_index, "started_at": run.started_at, "commit": run.commit}
        if run.note:
            rows.append(
                {
                    **base,
                    "kind": run.note.replace(" ", "_"),
                    "tests_affected": 0,
                    "share": 0.0,
                    "signature": "",
                    "example": run.note,
                }
            )
            continue
        if run.run_id not in by_run.groups:
            continue
        group = by_run.get_group(run.run_id)
        suites = group[group["outcome"] == "suite_error"]
        if len(suites):
            rows.append(
                {
                    **base,
                    "kind": "suite_failed_to_run",
                    "tests_affected": len(suites),
                    "share": 0.0,
                    "signature": str(suites["signature"].iloc[0]),
                    "example": f"{', '.join(suites['test_id'].head(3))}: {suites['message'].iloc[0]}",
                }
            )
        fails = group[group["outcome"].isin(FAILING)]
        share = len(fails) / run.tests if run.tests else 0.0
        top = fails["signature"].value_counts()
        if len(fails) >= INFRA_MIN_FAILURES and share >= INFRA_FAIL_SHARE:
            rows.append(
                {
                    **base,
                    "kind": "most_failed",
                    "tests_affected": len(fails),
                    "share": share,
                    "signature": str(top.index[0]),
                    "example": str(fails["message"].iloc[0]),
                }
            )
        elif len(top) and top.iloc[0] >= SIGNATURE_MIN_TESTS:
            example = fails.loc[fails["signature"] == top.index[0], "message"].iloc[0]
            rows.append(
                {
                    **base,
                    "kind": "shared_signature",
                    "tests_affected": int(top.iloc[0]),
                    "share": share,
                    "signature": str(top.index[0]),
                    "example": str(example),
                }
            )
    return pd.DataFrame(rows, columns=columns)


def outcomes_per_test(tests: pd.DataFrame, infra: pd.DataFrame) -> pd.DataFrame:
    """The per-(run, test) rows that speak about the test itself: no suite errors, no skips,
    no failures inside an infrastructure run; with ``failed`` (bool)."""
    outage = set(infra.loc[infra["kind"].isin(("most_failed", "shared_signature")), "run_id"])
    keep = tests["outcome"].isin(("passed", *FAILING))
    keep &= ~(tests["run_id"].isin(outage) & tests["outcome"].isin(FAILING))
    out = tests[keep].sort_values(["branch", "test_id", "run_index"], kind="stable")
    return out.assign(failed=out["outcome"].isin(FAILING))


#: The columns of :func:`rank_test_history`'s table.
HISTORY_COLUMNS = [
    "branch",
    "test_id",
    "runs",
    "failures",
    "flips",
    "retried",
    "flaky_marked",
    "streak",
    "file",
    "last_outcome",
    "last_message",
    "flip_rate",
    "first_fail_run",
    "first_fail_commit",
    "first_fail_at",
    "fail_message",
    "last_pass_run",
    "last_pass_commit",
    "same_commit_both",
]


def rank_test_history(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Per (branch, test): runs, failures, flips, flip rate, retries, same-commit disagreement,
    the trailing failing streak (first failing run and commit) and the last passing run."""
    if outcomes.empty:  # the same columns as a full table, so every view of it renders
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    o = outcomes
    key = [o["branch"], o["test_id"]]
    prev = o.groupby(key, sort=False)["failed"].shift()
    o = o.assign(flip=(prev.notna() & (prev != o["failed"])).astype("int64"))
    # Trailing streak: rows after the last pass of each test.
    passed_idx = o["run_index"].where(~o["failed"])
    last_pass = passed_idx.groupby(key, sort=False).transform("max")
    in_streak = o["failed"] & ((o["run_index"] > last_pass) | last_pass.isna())
    mixed = o.groupby([o["branch"], o["test_id"], o["commit"]], sort=False)["failed"].agg(["min", "max"])
    mixed = mixed[(mixed["min"] != mixed["max"]) & (mixed.index.get_level_values(2) != "")]
    mixed_tests = set(zip(mixed.index.get_level_values(0), mixed.index.get_level_values(1), strict=True))
    g = o.assign(in_streak=in_streak).groupby(["branch", "test_id"], sort=False)
    table = g.agg(
        runs=("failed", "size"),
        failures=("failed", "sum"),
        flips=("flip", "sum"),
        retried=("passed_on_retry", "sum"),
        flaky_marked=("flaky_marked", "any"),
        streak=("in_streak", "sum"),
        file=("file", "last"),
        last_outcome=("outcome", "last"),
        last_message=("message", "last"),
    ).reset_index()
    table["flip_rate"] = table["flips"] / (table["runs"] - 1).clip(lower=1)
    streak_rows = o[in_streak].groupby(["branch", "test_id"], sort=False).first()
    pass_rows = o[~o["failed"]].groupby(["branch", "test_id"], sort=False).last()
    idx = pd.MultiIndex.from_frame(table[["branch", "test_id"]])
    table["first_fail_run"] = streak_rows["run_id"].reindex(idx).to_numpy()
    table["first_fail_commit"] = streak_rows["commit"].reindex(idx).to_numpy()
    table["first_fail_at"] = streak_rows["started_at"].reindex(idx).to_numpy()
    table["fail_message"] = streak_rows["message"].reindex(idx).to_numpy()
    table["last_pass_run"] = pass_rows["run_id"].reindex(idx).to_numpy()
    table["last_pass_commit"] = pass_rows["commit"].reindex(idx).to_numpy()
    table["same_commit_both"] = [(b, t) in mixed_tests for b, t in zip(table["branch"], table["test_id"], strict=True)]
    return table


def detect_broken(history: pd.DataFrame) -> pd.DataFrame:
    """Tests failing on every run since a commit: a streak of at least BROKEN_MIN_STREAK runs
    that began when the commit changed (a failure starting on a commit that passed before is
    not a code change: that is flakiness or the environment)."""
    if history.empty or "streak" not in history:
        return history.head(0).reindex(columns=HISTORY_COLUMNS)
    h = history
    broken = h["streak"] >= BROKEN_MIN_STREAK
    broken &= h["last_pass_commit"].isna() | (h["last_pass_commit"].fillna("") != h["first_fail_commit"].fillna(""))
    broken &= h["last_outcome"].isin(FAILING)
    return h[broken].sort_values(["streak", "test_id"], ascending=[False, True]).reset_index(drop=True)


def detect_flaky(
    history: pd.DataFrame,
    *,
    min_runs: int = MIN_RUNS,
    flip_rate: float = FLIP_RATE,
    exclude: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Tests with both outcomes on one commit, a pass on retry, a flaky mark, or a flip rate
    of at least *flip_rate* over at least *min_runs* runs; never a broken test. Ranked by flip rate."""
    if history.empty or "streak" not in history:
        return history.head(0).reindex(columns=HISTORY_COLUMNS)
    broken = set(detect_broken(history)["test_id"])
    # A test whose only failures are timeouts is a timeout finding, not a flake.
    if exclude is not None and len(exclude):
        only_timeouts = set(exclude["test_id"])
        broken |= set(history.loc[history["test_id"].isin(only_timeouts) & (history["failures"] <= 1), "test_id"])
    h = history[~history["test_id"].isin(broken)]
    flaky = h["same_commit_both"] | (h["retried"] > 0) | h["flaky_marked"]
    flaky |= (h["runs"] >= min_runs) & (h["flip_rate"] >= flip_rate)
    out = h[flaky & ((h["failures"] > 0) | (h["retried"] > 0) | h["flaky_marked"])]
    return out.sort_values(["flip_rate", "failures"], ascending=False).reset_index(drop=True)


def timeout_limit(tests: pd.DataFrame, test_timeout_s: float = 0.0) -> tuple[float, pd.DataFrame]:
    """The per-test timeout (given, or the largest stated in a timeout message) and the rows that hit one."""
    text = (tests["message"].fillna("") + "\n" + tests["detail"].fillna("")).astype("string")
    hits = []
    limits: list[float] = []
    for runner, pattern, scale in TIMEOUT_PATTERNS:
        found = text.str.extract(pattern, expand=False)
        mask = found.notna()
        if mask.any():
            hits.append(tests[mask].assign(runner=runner))
            values = found[mask].map(_go_seconds) if runner == "go" else found[mask].astype(float) * scale
            limits.extend(values.tolist())
    hit_frame = pd.concat(hits) if hits else tests.head(0).assign(runner=pd.Series(dtype="string"))
    limit = float(test_timeout_s) if test_timeout_s > 0 else (max(limits) if limits else 0.0)
    return limit, hit_frame.drop_duplicates(["run_id", "test_id"])


#: Runs fitted for the duration trend: the recent past says where a test is heading.
TREND_RUNS = 20
#: A test whose recent duration is past this share of the timeout is worth a look.
NEAR_LIMIT_SHARE = 0.6


def detect_timeout_trends(tests: pd.DataFrame, *, limit_s: float, min_runs: int = MIN_RUNS) -> pd.DataFrame:
    """Tests whose duration grows toward *limit_s*: slope per run over the last TREND_RUNS
    timed runs, recent median, share of the limit and the runs left at that pace."""
    columns = ["test_id", "runs", "recent_s", "slope_s_per_run", "share_of_limit", "runs_to_limit"]
    timed = tests[tests["time_s"].notna()].sort_values("run_index")
    timed = timed.groupby("test_id", sort=False).tail(TREND_RUNS)
    if timed.empty or limit_s <= 0:
        return pd.DataFrame(columns=columns)
    x, y = timed["run_index"].astype(float), timed["time_s"]
    g = timed.assign(x=x, y=y, xy=x * y, xx=x * x).groupby("test_id", sort=False)
    s = g[["x", "y", "xy", "xx"]].sum()
    n = g.size()
    var = s["xx"] - s["x"] ** 2 / n
    slope = (s["xy"] - s["x"] * s["y"] / n) / var.where(var > 0)
    recent = g["y"].apply(lambda v: float(np.median(v.to_numpy()[-3:])))
    out = pd.DataFrame({"runs": n, "recent_s": recent, "slope_s_per_run": slope})
    out["share_of_limit"] = out["recent_s"] / limit_s
    out["runs_to_limit"] = ((limit_s - out["recent_s"]) / out["slope_s_per_run"]).clip(lower=0)
    keep = (out["runs"] >= min_runs) & (out["slope_s_per_run"] > 0) & (out["share_of_limit"] >= NEAR_LIMIT_SHARE)
    return out[keep].sort_values("share_of_limit", ascending=False).reset_index().reindex(columns=columns)


def rank_slowest(tests: pd.DataFrame, *, top: int = 10) -> pd.DataFrame:
    """The slowest tests by median duration (with p95, max and the number of timed runs)."""
    timed = tests[tests["time_s"].notna()]
    if timed.empty:
        return pd.DataFrame(columns=["test_id", "runs", "median_s", "p95_s", "max_s"])
    g = timed.groupby("test_id", sort=False)["time_s"]
    out = pd.DataFrame({"runs": g.size(), "median_s": g.median(), "p95_s": g.quantile(0.95), "max_s": g.max()})
    return out.sort_values("median_s", ascending=False).head(top).reset_index()


def detect_outcome_matrix(tests: pd.DataFrame, names: list[str], *, last_runs: int = 40) -> pd.DataFrame:
    """Tests × runs outcome codes for a heatmap (0 pass, 1 fail, 2 error, 3 skipped, 4 suite error, NaN absent)."""
    codes = {"passed": 0, "failed": 1, "error": 2, "skipped": 3, "suite_error": 4}
    picked = tests[tests["test_id"].isin(names)]
    recent = sorted(picked["run_index"].unique())[-last_runs:]
    picked = picked[picked["run_index"].isin(recent)]
    matrix = picked.assign(code=picked["outcome"].map(codes)).pivot_table(
        index="test_id", columns="run_index", values="code", aggfunc="last"
    )
    return matrix.reindex([n for n in names if n in matrix.index])
