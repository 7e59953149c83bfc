"""Plugin load failures: which agent or command stopped loading, since which commit, and
the rollback to show (never run).

Inputs are the frames of ``sources.plugins`` (files, history, culprits, load log); the
rules are in :mod:`runbook_lib.analysis.plugin_rules`.

Severity ladder (a file that does not load is a fact, not a statistic; the load log is
graded by volume, and a warning is not an error):

=====================  ========================================================================
finding                severity: evidence
=====================  ========================================================================
plugin_invalid         high: the file does not load (an error-level problem at file:line)
plugin_warnings        low: files that load with warnings (however many: they still load)
plugin_history         medium: files are broken and no known-good commit is found; else info
plugin_load_log        high: >= ``MANY_LOAD_ERRORS`` (5) error records in the window;
                       medium: 1-4 error records, or >= 5 warning records (persistent);
                       low: a few (< 5) warning records and no error; info: none
plugin_files           info: every file validates; unknown: the files could not be read
=====================  ========================================================================
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

import pandas as pd

from runbook_lib.analysis.plugin_rules import problems_frame, validate_files
from runbook_lib.collected import Collected
from runbook_lib.findings import Finding, Severity, unknown

__all__ = [
    "added_since",
    "find_plugin_findings",
    "detect_plugin_problems",
    "invalid_files",
    "list_components",
    "plugin_next_steps",
    "rollback_command",
    "summarise_load_log",
]

#: Load errors in the window at or above this count make the log finding high: one
#: skipped agent logs once per session start, several mean every session is affected.
#: The same count of warnings (with no error) makes it medium: persistent, not a stray line.
MANY_LOAD_ERRORS = 5
_KIND_WORD = {
    "agent": "Agent",
    "command": "Command",
    "skill": "Skill",
    "plugin_manifest": "Plugin manifest",
    "marketplace": "Marketplace",
}


def detect_plugin_problems(files: pd.DataFrame) -> pd.DataFrame:
    """One row per problem (file, line, level, kind, rule, message)."""
    return problems_frame(validate_files(files))


def invalid_files(problems: pd.DataFrame) -> list[str]:
    """Files with at least one error, in path order."""
    return sorted(problems.loc[problems["level"] == "error", "file"].unique().tolist())


def list_components(files: pd.DataFrame, problems: pd.DataFrame) -> pd.DataFrame:
    """Each file with its kind, name and whether Claude Code loads it (errors) or warns."""
    errors = problems[problems["level"] == "error"].groupby("file").size()
    warnings = problems[problems["level"] == "warning"].groupby("file").size()
    first = problems[problems["level"] == "error"].groupby("file").first()
    rows = []
    for path, kind in zip(files["path"].astype(str), files["kind"].astype(str), strict=True):
        n_err, n_warn = int(errors.get(path, 0)), int(warnings.get(path, 0))
        rows.append(
            {
                "file": path,
                "kind": kind,
                "name": _name_of(path, kind),
                "loads": "no" if n_err else "yes",
                "errors": n_err,
                "warnings": n_warn,
                "first_error": f"line {first.at[path, 'line']!s}: {first.at[path, 'message']!s}" if n_err else "",
            }
        )
    return pd.DataFrame(rows, columns=["file", "kind", "name", "loads", "errors", "warnings", "first_error"])


def _name_of(path: str, kind: str) -> str:
    parts = path.split("/")
    if kind == "skill":
        return parts[-2] if len(parts) > 1 else path
    if kind in ("plugin_manifest", "marketplace"):
        return parts[-3] if len(parts) > 2 else "."
    return parts[-1].removesuffix(".md")


def added_since(history: Collected) -> list[str]:
    """Paths added after known-good: a plain ``git checkout <ref> -- <dir>`` leaves them."""
    return [c["path"] for c in history.meta.get("name_status", []) if c["status"].startswith("A")]


def rollback_command(history: Collected) -> str:
    """``git checkout --no-overlay <known_good> -- <paths>``, or "" when there is nothing to roll back to.

    ``--no-overlay`` makes git also remove files that exist now but not at known-good;
    the default overlay mode only writes the old files back over the new ones.
    """
    good = str(history.meta.get("known_good", ""))
    present = list(history.meta.get("present", []))
    if not good or not present or history.frame.empty:
        return ""  # no known-good commit, or nothing changed since it: nothing to roll back
    return f"git checkout --no-overlay {good[:12]} -- " + " ".join(shlex.quote(p) for p in present)


def find_plugin_findings(
    files: Collected,
    problems: pd.DataFrame,
    history: Collected,
    culprits: Collected,
    load_log: Collected,
) -> list[Finding]:
    """One finding per file that does not load, the warnings, what changed, and the log."""
    if not files.usable:
        return [unknown("plugin_files", files, "which plugin files fail to load")]
    findings: list[Finding] = []
    by_culprit = {str(r.path): r for r in culprits.frame.itertuples(index=False)}
    for path in invalid_files(problems):
        errs = problems[(problems["file"] == path) & (problems["level"] == "error")]
        first = errs.iloc[0]
        kind = str(first["kind"])
        since = ""
        numbers: dict[str, Any] = {"errors": len(errs), "line": int(first["line"]), "rule": str(first["rule"])}
        if path in by_culprit:
            c = by_culprit[path]
            verb = "added broken in" if c.how == "introduced" else "broken by"
            since = f'; {verb} {c.short_sha} "{c.subject}" ({c.author}, {c.committed_at:%Y-%m-%d %H:%M} UTC)'
            numbers.update(culprit=str(c.sha), culprit_how=str(c.how))
        findings.append(
            Finding(
                kind="plugin_invalid",
                severity="high",
                summary=f"{_KIND_WORD.get(kind, kind)} `{_name_of(path, kind)}` ({path}) does not load: line "
                f"{first['line']}: {first['message']}{since}.",
                numbers={"file": path, **numbers},
                evidence=[f"{r.file}:{r.line}: {r.level}: {r.message}" for r in errs.itertuples(index=False)],
            )
        )
    warned = problems[problems["level"] == "warning"]
    if len(warned):
        findings.append(
            Finding(
                kind="plugin_warnings",
                severity="low",
                summary=f"{len(warned)} warning(s) in {warned['file'].nunique()} file(s) (they load, but "
                f"e.g. {warned.iloc[0]['file']}:{warned.iloc[0]['line']}: {warned.iloc[0]['message']}).",
                numbers={"warnings": len(warned), "files": int(warned["file"].nunique())},
                evidence=[f"{r.file}:{r.line}: warning: {r.message}" for r in warned.head(20).itertuples()],
            )
        )
    if not findings:
        findings.append(
            Finding(
                kind="plugin_files",
                severity="info",
                summary=f"All {len(files.frame)} plugin files validate.",
                numbers={"files": len(files.frame)},
            )
        )
    findings.extend(_history_findings(history, bool(invalid_files(problems))))
    findings.extend(_log_findings(load_log))
    return findings


def _history_findings(history: Collected, broken: bool) -> list[Finding]:
    if not history.usable:
        return [unknown("plugin_history", history, "what changed in the plugin paths")] if broken else []
    good = str(history.meta.get("known_good", ""))
    if not good:
        return [
            Finding(
                kind="plugin_history",
                severity="medium" if broken else "info",
                summary=f"No known-good commit: {history.reason or 'none given'}; pass known_good.",
            )
        ]
    frame = history.frame
    added = added_since(history)
    summary = (
        f"{len(frame)} commit(s) changed the plugin paths since known-good {good[:12]} "
        f"({history.meta.get('known_good_from')})"
    )
    if len(frame):
        summary += ": " + "; ".join(f'{r.short_sha} "{r.subject}"' for r in frame.head(5).itertuples())
    if added:
        summary += f". Added since then (a plain `git checkout <ref> -- <dir>` keeps them): {', '.join(added)}"
    return [
        Finding(
            kind="plugin_history",
            severity="info",
            summary=summary + ".",
            numbers={"commits": len(frame), "known_good": good, "added": added},
            evidence=[f"commit:{s}" for s in frame["sha"]],
        )
    ]


def _log_findings(load_log: Collected) -> list[Finding]:
    if load_log.status == "skipped":
        return []
    if not load_log.usable:
        return [unknown("plugin_load_log", load_log, "whether plugins failed to load")]
    frame = load_log.frame
    errors = frame[frame["level"].isin(["error", "critical", "warning"])]
    hard = int(frame["level"].isin(["error", "critical"]).sum())
    if errors.empty:
        return [
            Finding(
                kind="plugin_load_log",
                severity="info",
                summary=f"No plugin load errors in the app log ({len(frame)} plugin records in the window).",
            )
        ]
    top = errors["message"].str.slice(0, 160).value_counts()
    warnings = len(errors) - hard
    severity: Severity = (
        "high"
        if hard >= MANY_LOAD_ERRORS
        else "medium"
        if hard or warnings >= MANY_LOAD_ERRORS
        else "low"  # a stray warning: the component still loads
    )
    return [
        Finding(
            kind="plugin_load_log",
            severity=severity,
            summary=f"{hard} plugin load error and {warnings} warning record(s) logged from "
            f"{errors['logged_at'].min():%H:%M:%S} UTC; "
            f'most frequent: "{top.index[0]}" ({int(top.iloc[0])}x).',
            numbers={
                "errors": hard,
                "warnings": warnings,
                "first_at": errors["logged_at"].min(),
                "messages": {str(k): int(v) for k, v in top.head(5).items()},
            },
        )
    ]


_LEVEL_ORDER = {"critical": 0, "error": 1, "warning": 2}


def summarise_load_log(frame: pd.DataFrame) -> pd.DataFrame:
    """Plugin log records grouped by (level, logger, message): count, first and last seen.

    Errors first, then warnings, then the rest; within a level the most frequent first,
    so the message that explains the failure is on top, not the routine "loaded" lines.
    """
    columns = ["level", "logger", "message", "count", "first_at", "last_at"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    grouped = (
        frame.groupby(["level", "logger", "message"], sort=False)["logged_at"]
        .agg(count="size", first_at="min", last_at="max")
        .reset_index()
    )
    grouped["order"] = grouped["level"].map(_LEVEL_ORDER).fillna(len(_LEVEL_ORDER))
    grouped = grouped.sort_values(["order", "count", "first_at"], ascending=[True, False, True])
    return grouped[columns].reset_index(drop=True)


def plugin_next_steps(findings: Sequence[Finding], history: Collected, files: Collected) -> list[str]:
    """The runbook's resolution steps, filled in, as text to review (nothing is run)."""
    missing = set(files.meta.get("missing", []))
    paths = [p for p in files.meta.get("paths", []) if p not in missing]
    steps: list[str] = []
    invalid = [f for f in findings if f.kind == "plugin_invalid"]
    command = rollback_command(history)
    if invalid and command:
        added = added_since(history)
        steps.append(
            f"Immediate (review, then run in the repo): `{command}`. It restores the plugin paths as they "
            "were at known-good and removes files added since; the runbook's plain `git checkout <ref> -- "
            "<dir>` would leave " + (", ".join(added) if added else "any file added after <ref>") + " in place."
        )
    for finding in invalid:
        steps.append(
            f"Fix {finding.numbers['file']} line {finding.numbers['line']} ({finding.numbers['rule']}), "
            "then redeploy the agents."
        )
    steps.append(f"CI: `runbook validate-plugins {' '.join(paths)} --strict` fails the build on any problem.")
    return steps
