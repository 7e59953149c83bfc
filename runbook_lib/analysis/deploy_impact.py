"""Did it start after a deploy? Compare the error rate before and after each deploy.

For each deploy, "before" is the ``span`` preceding it and "after" the ``span`` following it,
cut short at the next deploy so one deploy's effect is not blamed on its predecessor. The
difference is tested as two proportions (z score), so a 3-request blip is not a culprit.

Input: per-minute rates with ``minute_at``, a count column and an error column (from
``rates.status_rates``: ``requests``/``status_5xx``; or ``app_error_rates``:
``lines``/``errors``), and the deploys frame (``deployed_at``, ``sha``, ``subject``).
Output of :func:`compare_deploys`::

    deployed_at | short_sha | subject | before_rate | after_rate | before_n | after_n | ratio | z

Severity ladder of :func:`find_suspect_deploy` (``deploy``): high when a deploy is followed
by an error rate >= ``MIN_RATIO`` (2x) its before-rate, >= ``MIN_DELTA`` (0.5 points) higher,
at a two-proportion z >= ``MIN_Z`` (3) (volume: a 3-request blip is never a culprit); info
when no deploy passes all three or there is no deploy; unknown when the deploy history or
both logs could not be read.
"""

from __future__ import annotations

import math

import pandas as pd

from runbook_lib.collected import Collected
from runbook_lib.findings import Finding, unknown
from runbook_lib.timewindow import Window

#: A deploy is suspicious when its after-rate is this many times the before-rate…
MIN_RATIO = 2.0
#: …the rise is at least this many percentage points…
MIN_DELTA = 0.005
#: …and the two-proportion z score says it is not noise.
MIN_Z = 3.0
#: How long before and after a deploy we compare.
SPAN = pd.Timedelta(minutes=30)


def compare_deploys(
    rates: pd.DataFrame,
    deploys: pd.DataFrame,
    *,
    total: str = "requests",
    errors: str = "status_5xx",
    span: pd.Timedelta = SPAN,
    window: Window | None = None,
) -> pd.DataFrame:
    """One row per deploy inside the data's range (and the window, if given)."""
    rows = []
    ordered = deploys.sort_values("deployed_at").reset_index(drop=True)
    times = ordered["deployed_at"]
    for i, dep in enumerate(ordered.to_dict("records")):
        at = dep["deployed_at"]
        if window is not None and not (window.start - span <= at < window.end):
            continue
        nxt = times.iloc[i + 1] if i + 1 < len(ordered) else at + span
        prev = times.iloc[i - 1] if i > 0 else at - span
        before = rates[(rates["minute_at"] >= max(at - span, prev)) & (rates["minute_at"] < at)]
        after = rates[(rates["minute_at"] >= at) & (rates["minute_at"] < min(at + span, nxt))]
        bn, an = int(before[total].sum()), int(after[total].sum())
        be, ae = int(before[errors].sum()), int(after[errors].sum())
        br = be / bn if bn else float("nan")
        ar = ae / an if an else float("nan")
        rows.append(
            {
                "deployed_at": at,
                "short_sha": str(dep.get("short_sha") or str(dep.get("sha", ""))[:7]),
                "sha": str(dep.get("sha", "")),
                "subject": str(dep.get("subject", "")),
                "before_rate": br,
                "after_rate": ar,
                "before_n": bn,
                "after_n": an,
                "ratio": (ar / br) if br > 0 else (math.inf if ar > 0 else float("nan")),
                "z": _two_proportion_z(be, bn, ae, an),
            }
        )
    columns = [
        "deployed_at",
        "short_sha",
        "sha",
        "subject",
        "before_rate",
        "after_rate",
        "before_n",
        "after_n",
        "ratio",
        "z",
    ]
    return pd.DataFrame(rows, columns=columns)


def _two_proportion_z(e1: int, n1: int, e2: int, n2: int) -> float:
    if n1 == 0 or n2 == 0:
        return float("nan")
    pooled = (e1 + e2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0
    return (e2 / n2 - e1 / n1) / se


def find_suspect_deploy(comparison: pd.DataFrame, *, what: str = "5xx rate") -> Finding:
    """Name the deploy after which errors rose the most (or say that none did)."""
    if comparison.empty:
        return Finding(
            "deploy",
            "info",
            f"No deploy in or shortly before the window, so the {what} rise "
            "is not explained by a deploy from this repository.",
        )
    usable = comparison.dropna(subset=["before_rate", "after_rate"])
    suspects = usable[
        (usable["after_rate"] - usable["before_rate"] >= MIN_DELTA)
        & ((usable["ratio"] >= MIN_RATIO) | usable["ratio"].isin([math.inf]))
        & (usable["z"] >= MIN_Z)
    ]
    if suspects.empty:
        listed = ", ".join(f"{r.short_sha} ({r.before_rate:.2%} → {r.after_rate:.2%})" for r in usable.itertuples())
        return Finding(
            "deploy",
            "info",
            f"No deploy is followed by a significant rise in the {what}: {listed or 'no data around the deploys'}.",
            {"deploys_checked": int(len(comparison))},
        )
    best = suspects.assign(delta=suspects["after_rate"] - suspects["before_rate"]).sort_values("delta").iloc[-1]
    numbers = {
        "sha": best["sha"],
        "deployed_at": best["deployed_at"].isoformat(),
        "before_rate": round(float(best["before_rate"]), 4),
        "after_rate": round(float(best["after_rate"]), 4),
        "before_n": int(best["before_n"]),
        "after_n": int(best["after_n"]),
        "z": round(float(best["z"]), 1),
    }
    ratio = "∞" if math.isinf(best["ratio"]) else f"{best['ratio']:.0f}×"
    return Finding(
        "deploy",
        "high",
        f'Deploy {best["short_sha"]} "{best["subject"]}" at {best["deployed_at"]:%H:%M} UTC is the most suspicious: '
        f"the {what} went from {best['before_rate']:.2%} to {best['after_rate']:.2%} ({ratio}, z={best['z']:.1f}) "
        f"in the 30 minutes after it. Consider rolling back to the previous commit.",
        numbers,
        [f"deploy:{best['sha']}"],
    )


def assess_deploy_impact(
    deploys: Collected,
    window: Window,
    *,
    access: Collected,
    access_rates: pd.DataFrame,
    app: Collected,
    app_rates: pd.DataFrame,
) -> tuple[pd.DataFrame, Finding]:
    """Compare around each deploy using the best evidence we have: access-log 5xx, else
    application-log errors. Returns the comparison table and the verdict."""
    if not deploys.usable:
        return compare_deploys(access_rates.iloc[0:0], deploys.frame.iloc[0:0]), unknown(
            "deploy", deploys, "whether it started after a deploy"
        )
    if access.usable and int(access_rates["requests"].sum()) > 0:
        table = compare_deploys(access_rates, deploys.frame, window=window)
        return table, find_suspect_deploy(table, what="5xx rate")
    if app.usable and int(app_rates["lines"].sum()) > 0:
        table = compare_deploys(app_rates, deploys.frame, total="lines", errors="errors", window=window)
        return table, find_suspect_deploy(table, what="application error share")
    return compare_deploys(access_rates.iloc[0:0], deploys.frame.iloc[0:0]), unknown(
        "deploy", access if not access.usable else app, "whether errors rose after a deploy (no log to compare)"
    )
