"""Memory leak (runbook Incident 2): RSS trend per process, leak or not, time to the limit.

Why Theil-Sen: the median of pairwise slopes ignores the odd GC drop or spike that drags
a least-squares line, and its rank-based confidence interval (Sen 1968) tells a real
trend from noise without assuming normal errors. Implemented with numpy (no scipy).

Input: ``PROCESS_SAMPLES_SCHEMA`` frames (``sampled_at, pid, name, rss_bytes``) and the
events frame (``observed_at, pid, event``). Output: a trend frame and findings naming the
process, e.g. "`api` (pid 42) RSS grows 212 MB/h (steady, R²=0.97); limit reached in ~3 h 40 m".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from runbook_lib.collected import Collected
from runbook_lib.findings import Finding, Severity, unknown

MB = 1024 * 1024
#: Above this many points a series is thinned evenly before the fit (2M slopes, ~0.3 s).
MAX_POINTS = 2_000
#: R² from which growth is called steady (a straight line explains most of the variation).
STEADY_R2 = 0.8


@dataclass(frozen=True)
class TrendFit:
    """Theil-Sen fit of y (bytes) against x (seconds): slope with a 95 % interval and R²."""

    slope: float
    intercept: float
    slope_low: float
    slope_high: float
    r2: float
    n: int


def theil_sen(x: np.ndarray, y: np.ndarray) -> TrendFit:
    """Median pairwise slope, Sen's rank-based 95 % interval (scipy's ``theilslopes``), and R².

    The intercept is the median of ``y - slope * x`` (scipy's "joint" method). A series
    longer than :data:`MAX_POINTS` is thinned evenly first: all pairs of n points cost n²/2
    slopes (a day at one sample a second would be 3.7e9), and thinning keeps the interval
    exact for the points kept, where sampling pairs would not.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(x)
    if n > MAX_POINTS:
        pick = np.linspace(0, n - 1, MAX_POINTS).round().astype(int)
        x, y = x[pick], y[pick]
    if n < 2 or np.ptp(x) == 0:
        return TrendFit(float("nan"), float("nan"), float("nan"), float("nan"), float("nan"), n)
    from scipy import stats  # here, not at import: scipy.stats costs ~1.3 s in every flow's kernel

    fit = stats.theilslopes(y, x, alpha=0.95, method="joint")
    slope, intercept = float(fit.slope), float(fit.intercept)
    resid = y - (slope * x + intercept)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else float("nan")
    return TrendFit(slope, intercept, float(fit.low_slope), float(fit.high_slope), r2, n)


def _big_drops(y: np.ndarray, fraction: float) -> np.ndarray:
    """Indices after which RSS fell by more than *fraction* of its range (a GC or free)."""
    span = float(np.nanmax(y) - np.nanmin(y))
    if span <= 0:
        return np.array([], dtype=int)
    return np.flatnonzero(np.diff(y) < -fraction * span) + 1


def classify_rss(
    at: pd.Series,
    rss: pd.Series,
    *,
    min_growth_mb_per_h: float = 1.0,
    min_growth_fraction: float = 0.02,
    drop_fraction: float = 0.3,
) -> tuple[str, TrendFit, dict[str, float]]:
    """Label one RSS series ``leak``, ``sawtooth``, ``plateau``, ``flat`` or ``shrinking``.

    - leak: the 95 % slope interval is above zero, growth over the samples is at least
      *min_growth_fraction* of the RSS and the rate at least *min_growth_mb_per_h*; a
      sawtooth whose troughs rise this way is a leak too ("leak under GC");
    - sawtooth: two or more drops bigger than *drop_fraction* of the range (GC cycles);
    - plateau: grew in the first half, flat in the second (a cache warming up);
    - flat / shrinking otherwise.
    """
    x = (at - at.iloc[0]).dt.total_seconds().to_numpy(dtype=float)
    y = rss.to_numpy(dtype=float)
    fit = theil_sen(x, y)
    extra: dict[str, float] = {}
    span_s = float(x[-1] - x[0]) if len(x) else 0.0

    def grows(f: TrendFit, base: float) -> bool:
        if not np.isfinite(f.slope) or span_s <= 0:
            return False
        rate_mb_h = f.slope * 3600 / MB
        return bool(
            f.slope_low > 0
            and f.slope * span_s >= min_growth_fraction * max(base, 1.0)
            and rate_mb_h >= min_growth_mb_per_h
        )

    base = float(np.nanmedian(y)) if len(y) else 0.0
    drops = _big_drops(y, drop_fraction)
    extra["drops"] = float(len(drops))
    if len(drops) >= 2:
        troughs = np.array([int(d) for d in drops])
        tfit = theil_sen(x[troughs], y[troughs]) if len(troughs) >= 3 else None
        if tfit is not None and grows(tfit, base):
            return "leak", tfit, {**extra, "under_gc": 1.0}
        return "sawtooth", fit, extra
    if grows(fit, base):
        half = len(x) // 2
        if half >= 4:
            late = theil_sen(x[half:], y[half:])
            early = theil_sen(x[:half], y[:half])
            if early.slope > 0 and (late.slope_low <= 0 <= late.slope_high) and late.slope < 0.2 * early.slope:
                return "plateau", fit, extra
        return "leak", fit, extra
    if np.isfinite(fit.slope) and fit.slope_high < 0:
        return "shrinking", fit, extra
    return "flat", fit, extra


def format_duration(seconds: float) -> str:
    """``~3 h 40 m`` style, for projections."""
    if not np.isfinite(seconds):
        return "never"
    minutes = int(round(seconds / 60))
    if minutes < 1:
        return f"~{max(seconds, 0):.0f} s"
    if minutes < 60:
        return f"~{minutes} m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"~{hours} h {minutes} m"
    return f"~{hours // 24} d {hours % 24} h"


TREND_COLUMNS = [
    "pid",
    "name",
    "pattern",
    "growth_mb_per_h",
    "growth_low_mb_per_h",
    "growth_high_mb_per_h",
    "r2",
    "first_rss_bytes",
    "last_rss_bytes",
    "samples",
    "time_to_limit_s",
    "first_at",
    "last_at",
]


def rank_rss_trends(
    processes: pd.DataFrame,
    *,
    limit_bytes: float,
    min_samples: int = 5,
    min_growth_mb_per_h: float = 1.0,
) -> pd.DataFrame:
    """Per pid with enough samples: pattern, growth (MB/h, 95 % interval), R², projection."""
    rows = []
    frame = processes.dropna(subset=["rss_bytes"]).sort_values("sampled_at")
    for _pid, one in frame.groupby("pid", sort=False):
        if len(one) < min_samples:
            continue
        pattern, fit, _ = classify_rss(
            one["sampled_at"],
            one["rss_bytes"].astype("float64"),
            min_growth_mb_per_h=min_growth_mb_per_h,
        )
        last = float(one["rss_bytes"].iloc[-1])
        to_limit = (limit_bytes - last) / fit.slope if pattern == "leak" and fit.slope > 0 else np.inf
        rows.append(
            {
                "pid": int(one["pid"].iloc[0]),
                "name": str(one["name"].iloc[-1]),
                "pattern": pattern,
                "growth_mb_per_h": round(fit.slope * 3600 / MB, 2),
                "growth_low_mb_per_h": round(fit.slope_low * 3600 / MB, 2),
                "growth_high_mb_per_h": round(fit.slope_high * 3600 / MB, 2),
                "r2": round(fit.r2, 3) if np.isfinite(fit.r2) else np.nan,
                "first_rss_bytes": int(one["rss_bytes"].iloc[0]),
                "last_rss_bytes": int(last),
                "samples": len(one),
                "time_to_limit_s": max(float(to_limit), 0.0),
                "first_at": one["sampled_at"].iloc[0],
                "last_at": one["sampled_at"].iloc[-1],
            }
        )
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in TREND_COLUMNS})
    out = pd.DataFrame(rows, columns=TREND_COLUMNS)
    order = {"leak": 0, "plateau": 1, "sawtooth": 2, "flat": 3, "shrinking": 4}
    return out.sort_values(
        by=["pattern", "growth_mb_per_h"],
        key=lambda s: s.map(order) if s.name == "pattern" else -s,
        ignore_index=True,
    )


def detect_restarts(events: pd.DataFrame) -> pd.DataFrame:
    """Restarts seen while sampling: a target pid exited and/or a new one started."""
    if events.empty:
        return events.iloc[0:0]
    return events[events["event"].isin(["started", "exited"])].reset_index(drop=True)


def find_memory_leaks(
    processes: Collected,
    *,
    limit_bytes: float,
    limit_origin: str = "host total",
    events: Collected | None = None,
    min_samples: int = 5,
    min_growth_mb_per_h: float = 1.0,
    kind: str = "memory.trend",
) -> list[Finding]:
    """Findings per process: leaks first (with time to *limit_bytes*), then the rest in one line."""
    if not processes.usable:
        return [unknown(kind, processes, "whether a process leaks memory")]
    trends = rank_rss_trends(
        processes.frame,
        limit_bytes=limit_bytes,
        min_samples=min_samples,
        min_growth_mb_per_h=min_growth_mb_per_h,
    )
    if trends.empty:
        return [
            Finding(
                kind,
                "unknown",
                f"Cannot tell whether a process leaks: fewer than "
                f"{min_samples} RSS samples per process (sample longer).",
            )
        ]
    out = []
    limit_txt = f"{limit_origin} {limit_bytes / MB / 1024:.1f} GiB"
    for _, t in trends.iterrows():
        label = f"`{t['name']}` (pid {t['pid']})"
        numbers = {
            k: t[k]
            for k in (
                "pid",
                "growth_mb_per_h",
                "growth_low_mb_per_h",
                "growth_high_mb_per_h",
                "r2",
                "last_rss_bytes",
                "time_to_limit_s",
                "samples",
            )
        }
        numbers.update(pattern=t["pattern"], limit_bytes=limit_bytes, limit_origin=limit_origin)
        if t["pattern"] == "leak":
            eta = float(t["time_to_limit_s"])
            sev: Severity = "critical" if eta < 3600 else "high" if eta < 6 * 3600 else "medium"
            out.append(
                Finding(
                    kind,
                    sev,
                    f"{label} RSS grows {t['growth_mb_per_h']:.0f} MB/h "
                    f"({'steady' if t['r2'] >= STEADY_R2 else 'irregular'}, R²={t['r2']:.2f}, "
                    f"95% CI {t['growth_low_mb_per_h']:.0f}–{t['growth_high_mb_per_h']:.0f}); "
                    f"limit ({limit_txt}) reached in {format_duration(eta)}.",
                    numbers,
                    [f"pid:{t['pid']}"],
                )
            )
        else:
            words = {
                "sawtooth": "rises and falls (sawtooth: GC reclaims it), not a leak",
                "plateau": "grew then levelled off (plateau), not a leak",
                "flat": "shows no steady growth, not a leak",
                "shrinking": "is shrinking, not a leak",
            }
            out.append(
                Finding(
                    kind,
                    "info",
                    f"{label} RSS {words[str(t['pattern'])]} "
                    f"({t['growth_mb_per_h']:.0f} MB/h over {t['samples']} samples).",
                    numbers,
                    [f"pid:{t['pid']}"],
                )
            )
    if events is not None and events.usable:
        restarts = detect_restarts(events.frame)
        started = restarts[restarts["event"] == "started"]
        if not started.empty:
            out.append(
                Finding(
                    "memory.restarts",
                    "medium",
                    f"The target restarted while sampled: new pid(s) "
                    f"{', '.join(str(p) for p in started['pid'])} appeared.",
                    {"restarts": len(started)},
                )
            )
    return out


def leaking(trends: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`rank_rss_trends` classified as leaks (most growth first)."""
    return trends[trends["pattern"] == "leak"].reset_index(drop=True)
