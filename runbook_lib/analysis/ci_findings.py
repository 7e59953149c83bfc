"""Findings and next steps of the test_failures flow (pure: tables from tests_history in).

Severity ladder (persistence decides: a test that failed once is a nuisance, one that keeps
failing, or a broken main branch, blocks everyone):

==================  ==========================================================================
finding             severity: evidence
==================  ==========================================================================
broken_test         high: fails on every run since a commit (>= 2 runs: BROKEN_MIN_STREAK) on
                    the default branch; medium: the same on another branch
flaky_test          medium: >= ``FLAKY_MEDIUM_FAILURES`` (3) failures in the history (it keeps
                    breaking builds); low: fewer (one flaky failure is not an incident)
ci_infrastructure   high: the latest run failed for the environment (suites not run, most tests
                    failing at once, one shared error); medium: an earlier run did
ci_no_tests         medium: a run that is not green and ran nothing
test_timeout        medium: hit the timeout in >= ``TIMEOUT_MEDIUM_RUNS`` (2) runs; low: in one
                    run (a slow machine once)
test_timeout_trend  medium: at this slope the limit is <= ``TREND_SOON_RUNS`` (10) runs away;
                    low: further
ci_green            info: nothing broken, flaky or timing out; unknown: no CI history read
==================  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd

from runbook_lib.collected import Collected
from runbook_lib.findings import Finding, unknown
from runbook_lib.timewindow import Window, utc_now

#: A skip added for a flaky test expires: a skip without a date becomes permanent.
SKIP_EXPIRY_DAYS = 14
#: Failures from which a flaky test is medium: it keeps breaking builds, not once in a while.
FLAKY_MEDIUM_FAILURES = 3
#: Runs that hit the timeout from which it is medium: one slow run is a busy machine.
TIMEOUT_MEDIUM_RUNS = 2
#: A test this many runs (or fewer) from its timeout at its current slope is medium.
TREND_SOON_RUNS = 10


def _rows(frame: pd.DataFrame) -> Iterator[Any]:
    """Rows as named tuples, typed loosely (their fields are the frame's columns)."""
    return iter(frame.itertuples(index=False))


def _short(sha: object) -> str:
    return str(sha or "")[:8] or "unknown commit"


def find_ci_findings(
    ci: Collected,
    *,
    infra: pd.DataFrame,
    broken: pd.DataFrame,
    flaky: pd.DataFrame,
    timeout_hits: pd.DataFrame,
    trends: pd.DataFrame,
    limit_s: float,
    default_branch: str = "main",
) -> list[Finding]:
    """Broken, flaky, infrastructure and timeout findings, each naming the test, commit and runs."""
    if not ci.usable:
        return [unknown("ci_history", ci, "whether CI is broken, flaky or sick")]
    runs: pd.DataFrame = ci.meta["runs"]
    out: list[Finding] = []
    last_run = runs["run_id"].iloc[-1] if len(runs) else ""
    for row in _rows(broken):
        blocks = (row.branch or "") == default_branch
        out.append(
            Finding(
                "broken_test",
                "high" if blocks else "medium",
                f"`{row.test_id}` fails on every run since commit {_short(row.first_fail_commit)} (run {row.first_fail_run}, "  # noqa: E501
                f"{int(row.streak)} runs in a row on {row.branch or 'unknown branch'}); last passed at commit "
                f"{_short(row.last_pass_commit)} (run {row.last_pass_run}): {row.fail_message}"
                + (f"; commits in between touching it: {row.narrowed}" if getattr(row, "narrowed", "") else ""),
                {
                    "test_id": row.test_id,
                    "streak": int(row.streak),
                    "first_fail_commit": row.first_fail_commit,
                    "last_pass_commit": row.last_pass_commit,
                    "first_fail_run": row.first_fail_run,
                    "last_pass_run": row.last_pass_run,
                    "culprit": getattr(row, "culprit", ""),
                    "branch": row.branch,
                },
                [f"run:{row.first_fail_run}", "source:ci_runs"],
            )
        )
    for row in _rows(flaky):
        why = [
            *(["both outcomes on one commit"] if row.same_commit_both else []),
            *([f"passed on retry in {int(row.retried)} runs"] if row.retried else []),
            *(["marked flaky by the runner"] if row.flaky_marked else []),
        ]
        strong = row.failures >= FLAKY_MEDIUM_FAILURES
        out.append(
            Finding(
                "flaky_test",
                "medium" if strong else "low",
                f"`{row.test_id}` is flaky: flip rate {row.flip_rate:.0%} over {int(row.runs)} runs, {int(row.failures)} "  # noqa: E501
                f"failures ({'; '.join(why) or 'outcome changes without a code change'}).",
                {
                    "test_id": row.test_id,
                    "flip_rate": round(float(row.flip_rate), 3),
                    "runs": int(row.runs),
                    "failures": int(row.failures),
                    "retried": int(row.retried),
                },
                ["source:ci_runs"],
            )
        )
    for row in _rows(infra):
        if row.kind in ("ran_no_tests", "no_readable_report", "no_reports"):
            out.append(
                Finding(
                    "ci_no_tests",
                    "medium",
                    f"Run {row.run_id} (commit {_short(row.commit)}) {row.example}: not green, nothing ran.",
                    {"run_id": row.run_id},
                    [f"run:{row.run_id}"],
                )
            )
            continue
        what = {
            "suite_failed_to_run": f"{int(row.tests_affected)} suites failed to run",
            "most_failed": f"{int(row.tests_affected)} tests ({row.share:.0%}) failed at once",
            "shared_signature": f"{int(row.tests_affected)} tests failed with one error",
        }[row.kind]
        out.append(
            Finding(
                "ci_infrastructure",
                "high" if row.run_id == last_run else "medium",
                f"Infrastructure, not tests: in run {row.run_id} (commit {_short(row.commit)}) {what}: {row.example}",
                {
                    "run_id": row.run_id,
                    "kind": row.kind,
                    "tests_affected": int(row.tests_affected),
                    "share": round(float(row.share), 3),
                    "signature": row.signature,
                },
                [f"run:{row.run_id}"],
            )
        )
    for test_id, group in timeout_hits.groupby("test_id", sort=False):
        out.append(
            Finding(
                "test_timeout",
                "medium" if len(group) >= TIMEOUT_MEDIUM_RUNS else "low",
                f"`{test_id}` hit the {limit_s:g} s timeout in {len(group)} runs (last: run {group['run_id'].iloc[-1]}, "  # noqa: E501
                f"{group['runner'].iloc[0]}).",
                {"test_id": test_id, "runs": len(group), "limit_s": limit_s},
                ["source:ci_runs"],
            )
        )
    for row in _rows(trends):
        if row.test_id in set(timeout_hits["test_id"]):
            continue
        soon = row.runs_to_limit <= TREND_SOON_RUNS
        out.append(
            Finding(
                "test_timeout_trend",
                "medium" if soon else "low",
                f"`{row.test_id}` is creeping toward the {limit_s:g} s timeout: {row.recent_s:.2f} s now "
                f"({row.share_of_limit:.0%}), +{row.slope_s_per_run:.3f} s per run, about {row.runs_to_limit:.0f} runs left.",  # noqa: E501
                {
                    "test_id": row.test_id,
                    "recent_s": round(float(row.recent_s), 3),
                    "slope_s_per_run": round(float(row.slope_s_per_run), 4),
                    "runs_to_limit": round(float(row.runs_to_limit), 1),
                    "limit_s": limit_s,
                },
                ["source:ci_runs"],
            )
        )
    if not out:
        tests = ci.frame
        out.append(
            Finding(
                "ci_green",
                "info",
                f"CI looks healthy: {len(runs)} runs, {tests['test_id'].nunique()} tests, nothing broken, flaky or timing out.",  # noqa: E501
                {"runs": len(runs), "tests": int(tests["test_id"].nunique())},
                ["source:ci_runs"],
            )
        )
    return out


def _isolation(test_id: str, file: str) -> str:
    name = test_id.rsplit("::", 1)[-1]
    if file.endswith((".js", ".ts", ".jsx", ".tsx", ".mjs", ".cjs")):
        return f'npm test -- {file} --testNamePattern="{name}" --runInBand'
    if file.endswith(".py"):
        return f'python -m pytest "{test_id}" -p no:randomly'
    return f'python -m pytest -k "{name}"  # or your runner: mvn -Dtest=…, go test -run …'


def ci_next_steps(
    findings: list[Finding], broken: pd.DataFrame, flaky: pd.DataFrame, *, incident_id: str = ""
) -> list[str]:
    """The runbook's steps as text to review (never applied): revert, isolate, skip with expiry, timeouts."""
    steps: list[str] = []
    expiry = (utc_now() + pd.Timedelta(days=SKIP_EXPIRY_DAYS)).strftime("%Y-%m-%d")
    ref = incident_id or "the incident"
    for row in _rows(broken):
        culprit = getattr(row, "culprit", "") or row.first_fail_commit
        if culprit:
            steps.append(f"Broken `{row.test_id}`: review and revert the culprit: `git revert {culprit}`")
        if row.last_pass_commit and row.first_fail_commit:
            steps.append(f"Commits in between: `git log --oneline {row.last_pass_commit}..{row.first_fail_commit}`")
        steps.append(f"Run it in isolation: `{_isolation(row.test_id, str(row.file or ''))}`")
    for row in _rows(flaky.head(5)):
        name = row.test_id.rsplit("::", 1)[-1]
        if str(row.file or "").endswith((".js", ".ts")):
            steps.append(
                f"Flaky `{row.test_id}`: quarantine with an expiry: `test.skip('{name}', …)  // flaky, {ref}, remove by {expiry}`"  # noqa: E501
            )
        else:
            steps.append(f'Flaky `{row.test_id}`: `@pytest.mark.skip(reason="flaky: {ref}; remove by {expiry}")`')
    kinds = {f.kind for f in findings}
    if kinds & {"test_timeout", "test_timeout_trend"}:
        steps.append(
            "Timeouts: raise the limit while fixing the slowness: `jest.setTimeout(10000)` or `@pytest.mark.timeout(N)`; run `npm test -- --runInBand` to rule out parallel contention."  # noqa: E501
        )
    if "ci_infrastructure" in kinds:
        steps.append(
            "Infrastructure: check the test environment (`echo $NODE_ENV`, `echo $DATABASE_URL`, `env | grep TEST`) and the services the suite needs, then re-run the failed run."  # noqa: E501
        )
    return steps


def _subject(path: str) -> str:
    """The module a test file covers: test/cart.test.js → cart, tests/test_cart.py → cart."""
    stem = path.rsplit("/", 1)[-1].split(".")[0]
    return stem.removeprefix("test_").removesuffix("_test").removesuffix("Test").lower()


def detect_culprits(broken: pd.DataFrame, commits: pd.DataFrame) -> pd.DataFrame:
    """Each broken test with the commits of its range narrowed to those touching its file or module.

    Adds ``candidates`` (commits in W..X), ``culprit`` (the single narrowed commit, else the
    newest touching one, else X) and ``narrowed`` (short shas + subjects of the touching ones).
    """
    out = broken.copy()
    culprits, narrowed, candidates = [], [], []
    for row in _rows(broken):
        span = commits[
            (commits["head"] == (row.first_fail_commit or "")) & (commits["base"] == (row.last_pass_commit or ""))
        ]
        file, module = str(row.file or ""), _subject(str(row.file or row.test_id))
        hits = [
            any(f == file or _subject(f) == module for f in str(fs).splitlines()) for fs in span["files"].fillna("")
        ]
        touching = span[hits]
        candidates.append(len(span))
        narrowed.append("; ".join(f"{s} {t}" for s, t in zip(touching["short_sha"], touching["subject"], strict=True)))
        culprits.append(str(touching["sha"].iloc[0]) if len(touching) else str(row.first_fail_commit or ""))
    return out.assign(candidates=candidates, narrowed=narrowed, culprit=culprits)


def history_window(ci: Collected) -> Window | None:
    """The span of the runs read (for findings.json), or None when no run has a time."""
    runs = ci.meta.get("runs")
    if runs is None or runs["started_at"].dropna().empty:
        return None
    times = runs["started_at"].dropna()
    return Window(times.min(), times.max() + pd.Timedelta(seconds=1))
