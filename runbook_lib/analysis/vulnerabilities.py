"""Dependency vulnerabilities (runbook Incident 7, step 4): what is exposed and how to fix it.

Input: the audit frame of ``runbook_lib.sources.audit`` (one row per package × advisory:
``ecosystem``, ``package``, ``installed_version``, ``severity``, ``advisory_id``,
``aliases``, ``title``, ``fix_versions``, ``fix_available``, ``via``…). Counts are per
*package* (worst severity wins), as ``npm audit`` itself counts. A report that could not
be produced (npm error document, pip-audit with every dependency skipped) is ``unknown``,
never "no vulnerabilities".

Severity ladder (``vulnerabilities_npm_audit`` / ``vulnerabilities_pip_audit``): the worst
package's advisory severity, mapped: critical → critical, high → high, moderate → medium,
low → low, an advisory without a severity (pip-audit) → medium; no vulnerable package →
info, or low when some packages could not be audited; unknown when nothing was audited.
"""

from __future__ import annotations

import pandas as pd

from runbook_lib.collected import Collected
from runbook_lib.findings import Finding, Severity, unknown

SEVERITY_ORDER = ("critical", "high", "moderate", "low", "info", "unknown")
_RANK = {s: i for i, s in enumerate(SEVERITY_ORDER)}
# npm "moderate" is our "medium"; pip-audit gives no severity: a known vulnerability with
# an unknown severity is treated as medium until someone reads the advisory.
_FINDING_SEVERITY: dict[str, Severity] = {
    "critical": "critical",
    "high": "high",
    "moderate": "medium",
    "low": "low",
    "info": "info",
    "unknown": "medium",
}


def rank_vulnerable_packages(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per vulnerable package, worst first: ``ecosystem``, ``package``,
    ``installed_version``, ``severity`` (worst), ``advisories``, ``advisory_ids``,
    ``title``, ``fix_versions``, ``fix_available``, ``via``."""
    cols = [
        "ecosystem",
        "package",
        "installed_version",
        "severity",
        "advisories",
        "advisory_ids",
        "title",
        "fix_versions",
        "fix_available",
        "via",
    ]
    if frame.empty:
        return pd.DataFrame(columns=cols)
    work = frame.assign(_rank=frame["severity"].astype("str").map(lambda s: _RANK.get(s, len(_RANK))))
    work = work.sort_values(["_rank", "ecosystem", "package"], kind="stable")
    groups = work.groupby(["ecosystem", "package"], sort=False, observed=True)

    def joined(series: pd.Series) -> str:
        values = [str(v) for v in series.dropna().astype("str") if str(v)]
        return ", ".join(dict.fromkeys(values))

    out = pd.DataFrame(
        {
            "installed_version": groups["installed_version"].agg(joined),
            "severity": groups["severity"].first(),
            "advisories": groups["advisory_id"].agg(lambda s: int((s.astype("str") != "").sum())),
            "advisory_ids": groups["advisory_id"].agg(joined),
            "title": groups["title"].first(),
            "fix_versions": groups["fix_versions"].agg(joined),
            "fix_available": groups["fix_available"].agg(lambda s: bool(s.fillna(False).any())),
            "via": groups["via"].agg(joined),
            "_rank": groups["_rank"].min(),
        }
    ).reset_index()
    return out.sort_values(["_rank", "advisories"], ascending=[True, False], kind="stable")[cols].reset_index(drop=True)


def severity_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Vulnerable packages per ecosystem and worst severity (``ecosystem`` × severities)."""
    packages = rank_vulnerable_packages(frame)
    if packages.empty:
        return pd.DataFrame(columns=["ecosystem", *SEVERITY_ORDER, "total"])
    table = pd.crosstab(packages["ecosystem"], packages["severity"]).reindex(columns=list(SEVERITY_ORDER), fill_value=0)
    table["total"] = table.sum(axis=1)
    return table.rename_axis(columns=None).reset_index()


def find_vulnerabilities(collected: Collected) -> Finding:
    """One finding per audit report: counts by severity, the worst package and its fix."""
    name = "npm audit" if collected.source == "npm_audit" else "pip-audit"
    kind = f"vulnerabilities_{collected.source}"
    if collected.status == "skipped":
        return Finding(kind, "info", f"No {name} report given; dependency vulnerabilities not checked.")
    if not collected.usable:
        return unknown(kind, collected, f"which dependencies are vulnerable ({name})")
    audited = collected.meta.get("packages_audited")
    packages = rank_vulnerable_packages(collected.frame)
    skipped = int(collected.meta.get("packages_skipped") or 0)
    gap = f"; {skipped} package(s) could not be audited" if skipped else ""
    if packages.empty:
        if not audited:
            return Finding(
                kind,
                "unknown",
                f"The {name} report lists no audited packages: it proves nothing.",
                numbers={"packages_audited": audited or 0},
            )
        severity: Severity = "low" if skipped else "info"
        return Finding(
            kind,
            severity,
            f"{name}: no known vulnerabilities in {audited} audited packages{gap}.",
            numbers={"packages_audited": audited, "packages_skipped": skipped},
        )
    counts = packages["severity"].value_counts()
    text = ", ".join(f"{int(counts[s])} {s}" for s in SEVERITY_ORDER if s in counts.index)
    worst = packages.iloc[0]
    fix = (
        f"fix: {worst['fix_versions']}"
        if worst["fix_versions"]
        else ("fix available" if worst["fix_available"] else "no fix known")
    )
    summary = (
        f"{name}: {len(packages)} vulnerable package(s) ({text}); worst `{worst['package']}` "
        f"{worst['installed_version']} ({worst['severity']}: {str(worst['title'])[:80]}; "
        f"{fix}){gap}."
    )
    numbers = {
        "packages": len(packages),
        "by_severity": {s: int(c) for s, c in counts.items()},
        "packages_audited": audited,
        "packages_skipped": skipped,
        "fixable": int(packages["fix_available"].sum()),
    }
    reported = collected.meta.get("metadata_counts") or {}
    if reported:
        numbers["reported_by_tool"] = reported
    return Finding(
        kind,
        _FINDING_SEVERITY.get(str(worst["severity"]), "medium"),
        summary,
        numbers=numbers,
        evidence=[f"package:{p}" for p in packages["package"].head(10)],
    )


def audit_frame(*reports: Collected) -> pd.DataFrame:
    """The rows of every usable audit report, one frame (npm and PyPI together)."""
    frames = [r.frame for r in reports if r.usable and not r.frame.empty]
    if not frames:
        return reports[0].frame.head(0) if reports else pd.DataFrame()
    return pd.concat(frames, ignore_index=True)
