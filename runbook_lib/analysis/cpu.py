"""High CPU (runbook Incident 1): since when, who burns it, and does traffic explain it.

Pure functions over frames from ``sources.host`` (``SYSTEM_SAMPLES_SCHEMA``,
``PROCESS_SAMPLES_SCHEMA``, ``THREAD_SAMPLES_SCHEMA``), ``sources.prometheus`` / CSV
metrics (``sampled_at, query, series, value``), an access-log frame (``requested_at``) and
a deploys frame (``deployed_at, sha``). Unusable inputs give "unknown" findings.

Severity ladder (persistence decides: every host has brief spikes; an incident is CPU that
stays high):

========================  ==================================================================
finding                   severity: evidence
========================  ==================================================================
cpu.sustained_high        high: above ``threshold_percent`` (80 %) for ``min_duration_s``
                          (5 min) in a row; low: above it for less (a brief spike);
                          info: never above
cpu.culprit               high: a process busy (>= ``busy_percent``, 50 % of a core) in
                          >= ``CULPRIT_MIN_BUSY_SAMPLES`` (3) samples and still burning that
                          much on average since; medium: busy that long but cooling down;
                          low: busy in fewer samples (a brief spike); info: nobody busy
cpu.traffic_correlation   high: the median CPU of the later half rose >= ``RISE_POINTS``
                          (10 points) while the request rate grew < ``FLAT_TRAFFIC_RATIO``
                          (x1.2) (medians, so one spiky sample cannot make a rise);
                          info: CPU tracks traffic (r >= ``TRACKS_R``) or did not rise
========================  ==================================================================
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from runbook_lib.collected import Collected
from runbook_lib.findings import Finding, unknown

CPU_SERIES_SCHEMA: dict[str, str] = {"sampled_at": "datetime64[ns, UTC]", "cpu_percent": "float64"}
#: The metrics query name whose values are whole-host busy CPU in percent (see sources.prometheus).
CPU_QUERY = "cpu_busy_percent"
#: Correlation above this means "CPU follows traffic" (a strong, not a perfect, relation).
TRACKS_R = 0.7
#: Samples at or above busy_percent from which a process is a culprit, not a spike: one or
#: two hot samples are a cron job, a GC pause or the sampler itself.
CULPRIT_MIN_BUSY_SAMPLES = 3
#: Points the median CPU must rise between the halves of the window to call it a rise.
RISE_POINTS = 10.0
#: Request-rate growth below which traffic "did not grow" (20 % is ordinary daily drift).
FLAT_TRAFFIC_RATIO = 1.2


def _hhmmss(at: pd.Timestamp) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def _span(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 120:
        return f"{minutes:.0f} min"
    return f"{int(minutes // 60)} h {int(minutes % 60)} m"


def cpu_series(system: Collected, metrics: Sequence[Collected] = ()) -> tuple[pd.DataFrame, str]:
    """Whole-host CPU % over time: from metrics (longer history) when they have it, else samples.

    *metrics* are tried in order (e.g. Prometheus, then a CSV export); the first with
    ``cpu_busy_percent`` rows wins. Returns the frame (``CPU_SERIES_SCHEMA``) and its source.
    """
    for source in metrics:
        if not source.usable or source.frame.empty:
            continue
        rows = source.frame[source.frame["query"] == CPU_QUERY]
        if not rows.empty:
            mean = rows.groupby("sampled_at")["value"].mean()
            series = pd.DataFrame({"sampled_at": mean.index, "cpu_percent": mean.to_numpy(float)})
            return series, source.source
    frame = system.frame[["sampled_at", "cpu_percent"]].sort_values("sampled_at")
    return frame.reset_index(drop=True), system.source


def _runs(above: np.ndarray) -> list[tuple[int, int]]:
    """Index ranges ``[i, j]`` of consecutive True values."""
    runs, start = [], None
    for i, flag in enumerate(above):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(above) - 1))
    return runs


def detect_high_cpu(
    series: pd.DataFrame,
    *,
    threshold_percent: float = 80.0,
    min_duration_s: float = 300.0,
    source: Collected | None = None,
) -> Finding:
    """Did CPU stay above *threshold_percent* for *min_duration_s*, and since when?

    *series* is ``CPU_SERIES_SCHEMA``. A run's duration counts one sample interval past its
    last sample (a single sample above the line covers one interval).
    """
    kind = "cpu.sustained_high"
    if series.empty:
        if source is not None:
            return unknown(kind, source, "whether CPU was high")
        return Finding(kind, "unknown", "Cannot tell whether CPU was high: no CPU samples.")
    frame = series.sort_values("sampled_at").reset_index(drop=True)
    at, cpu = frame["sampled_at"], frame["cpu_percent"].to_numpy(dtype=float)
    step = at.diff().dt.total_seconds().median() if len(frame) > 1 else 0.0
    step = 0.0 if pd.isna(step) else float(step)
    runs = [(i, j, (at[j] - at[i]).total_seconds() + step) for i, j in _runs(cpu >= threshold_percent)]
    numbers: dict[str, object] = {
        "threshold_percent": threshold_percent,
        "min_duration_s": min_duration_s,
        "peak_percent": round(float(np.nanmax(cpu)), 1),
        "mean_percent": round(float(np.nanmean(cpu)), 1),
        "samples": len(frame),
        "observed_s": (at.iloc[-1] - at.iloc[0]).total_seconds() + step,
    }
    if not runs:
        return Finding(
            kind,
            "info",
            f"CPU stayed below {threshold_percent:g}% (peak {numbers['peak_percent']}%, "
            f"{len(frame)} samples over {_span(float(numbers['observed_s']))}).",  # type: ignore[arg-type]
            numbers,
        )
    i, j, duration = max(runs, key=lambda r: r[2])
    numbers.update(began_at=at[i], last_above_at=at[j], duration_s=duration)
    ongoing = j == len(frame) - 1
    tail = " and is still above" if ongoing else f" until {_hhmmss(at[j])}"
    if duration >= min_duration_s:
        return Finding(
            kind,
            "high",
            f"CPU above {threshold_percent:g}% for {_span(duration)} since {_hhmmss(at[i])}"
            f"{tail} (peak {numbers['peak_percent']}%).",
            numbers,
        )
    return Finding(
        kind,
        "low",
        f"CPU above {threshold_percent:g}% from {_hhmmss(at[i])} for {_span(duration)} only "
        f"(less than {_span(min_duration_s)}; peak {numbers['peak_percent']}%).",
        numbers,
    )


def rank_cpu_processes(processes: pd.DataFrame, *, busy_percent: float = 50.0) -> pd.DataFrame:
    """Per pid: mean/peak CPU % (of one core), share of all sampled CPU, when it became busy.

    Columns: pid, name, cmdline, mean_cpu_percent, peak_cpu_percent, share_percent,
    samples, busy_since_at (first sample at or above *busy_percent*, NaT if never),
    busy_mean_cpu_percent (mean CPU from busy_since_at on: what it burns once it is hot),
    busy_samples (how many samples were at or above *busy_percent*: persistence).
    """
    cols = [
        "pid",
        "name",
        "cmdline",
        "mean_cpu_percent",
        "peak_cpu_percent",
        "share_percent",
        "samples",
        "busy_since_at",
        "busy_mean_cpu_percent",
        "busy_samples",
    ]
    if processes.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    frame = processes.sort_values("sampled_at")
    busy_at = frame[frame["cpu_percent"] >= busy_percent].groupby("pid")["sampled_at"]
    busy, busy_samples = busy_at.min(), busy_at.size()
    ranked = frame.groupby("pid").agg(
        name=("name", "last"),
        cmdline=("cmdline", "last"),
        mean_cpu_percent=("cpu_percent", "mean"),
        peak_cpu_percent=("cpu_percent", "max"),
        total=("cpu_percent", "sum"),
        samples=("cpu_percent", "count"),
    )
    ranked["share_percent"] = 100.0 * ranked["total"] / max(float(ranked["total"].sum()), 1e-9)
    ranked["busy_since_at"] = busy.reindex(ranked.index)
    ranked["busy_samples"] = busy_samples.reindex(ranked.index, fill_value=0).astype("int64")
    ranked["busy_mean_cpu_percent"] = float("nan")
    if not busy.empty:
        since = frame["pid"].map(busy)
        hot = frame[since.notna() & (frame["sampled_at"] >= since)]
        ranked["busy_mean_cpu_percent"] = hot.groupby("pid")["cpu_percent"].mean().reindex(ranked.index)
    ranked = ranked.drop(columns="total").reset_index()
    ranked = ranked.sort_values("mean_cpu_percent", ascending=False, ignore_index=True)
    rounding = {"mean_cpu_percent": 1, "peak_cpu_percent": 1, "share_percent": 1, "busy_mean_cpu_percent": 1}
    return ranked[cols].round(rounding)


def find_cpu_culprit(processes: Collected, *, busy_percent: float = 50.0) -> Finding:
    """Name the process that burns the CPU (highest mean CPU over the samples)."""
    kind = "cpu.culprit"
    if not processes.usable or processes.frame["cpu_percent"].notna().sum() == 0:
        return unknown(kind, processes, "which process uses the CPU")
    ranked = rank_cpu_processes(processes.frame, busy_percent=busy_percent)
    top = ranked.iloc[0]
    numbers = {k: top[k] for k in ("pid", "mean_cpu_percent", "peak_cpu_percent", "share_percent")}
    numbers["busy_since_at"] = top["busy_since_at"]
    numbers["busy_mean_cpu_percent"] = top["busy_mean_cpu_percent"]
    label = f"`{top['name']}` (pid {int(top['pid'])})"
    if pd.isna(top["busy_since_at"]):
        return Finding(
            kind,
            "info",
            f"No process was busy: the busiest, {label}, averaged {top['mean_cpu_percent']}% "
            f"of a core (below {busy_percent:g}%).",
            numbers,
            [f"pid:{int(top['pid'])}"],
        )
    numbers["busy_samples"] = int(top["busy_samples"])
    if top["busy_samples"] < CULPRIT_MIN_BUSY_SAMPLES:
        return Finding(
            kind,
            "low",
            f"{label} spiked to {top['peak_cpu_percent']}% of a core in {int(top['busy_samples'])} "
            f"sample(s) only (a brief spike, not a culprit: fewer than {CULPRIT_MIN_BUSY_SAMPLES}); "
            f"it averaged {top['mean_cpu_percent']}% over {int(top['samples'])} samples.",
            numbers,
            [f"pid:{int(top['pid'])}"],
        )
    return Finding(
        kind,
        "high" if top["busy_mean_cpu_percent"] >= busy_percent else "medium",
        f"{label} uses {top['busy_mean_cpu_percent']}% of a core since it became busy at "
        f"{_hhmmss(top['busy_since_at'])} ({top['share_percent']}% of sampled process CPU); "
        f"command: {' '.join(str(top['cmdline']).split())[:120]}",
        numbers,
        [f"pid:{int(top['pid'])}"],
    )


def process_share_over_time(processes: pd.DataFrame, *, top: int = 5) -> pd.DataFrame:
    """Wide frame for charts: ``sampled_at`` then one CPU % column per top process."""
    if processes.empty:
        return pd.DataFrame({"sampled_at": pd.Series(dtype="datetime64[ns, UTC]")})
    ranked = rank_cpu_processes(processes).head(top)
    keep = processes[processes["pid"].isin(ranked["pid"])].copy()
    keep["process"] = keep["name"].astype(str) + " (" + keep["pid"].astype(str) + ")"
    wide = keep.pivot_table(index="sampled_at", columns="process", values="cpu_percent", aggfunc="mean")
    order = [f"{n} ({p})" for n, p in zip(ranked["name"], ranked["pid"], strict=True)]
    return wide[[c for c in order if c in wide.columns]].fillna(0.0).reset_index()


def rank_threads(threads: pd.DataFrame, *, top: int = 10) -> pd.DataFrame:
    """Threads of the hottest process by mean CPU %: pid, tid, mean/peak CPU %, samples."""
    if threads.empty:
        return pd.DataFrame(columns=["pid", "tid", "mean_cpu_percent", "peak_cpu_percent", "samples"])
    pid = threads.groupby("pid")["cpu_percent"].sum().idxmax()
    mine = threads[threads["pid"] == pid]
    out = mine.groupby(["pid", "tid"], as_index=False).agg(
        mean_cpu_percent=("cpu_percent", "mean"),
        peak_cpu_percent=("cpu_percent", "max"),
        samples=("cpu_percent", "count"),
    )
    return out.sort_values("mean_cpu_percent", ascending=False, ignore_index=True).head(top).round(1)


def correlate_cpu_with_traffic(
    series: pd.DataFrame,
    requests: Collected,
    *,
    deploys: pd.DataFrame | None = None,
    bin_s: float = 60.0,
) -> Finding:
    """Does CPU follow the request rate? Pearson r over common time bins.

    ``r >= 0.7``: "CPU tracks request rate"; otherwise, if CPU rose while traffic did not,
    name the last deploy before the rise. Needs at least 3 overlapping bins.
    """
    kind = "cpu.traffic_correlation"
    if not requests.usable:
        return unknown(kind, requests, "whether CPU tracks traffic")
    times = requests.frame["requested_at"].dropna()
    if series.empty or times.empty:
        return Finding(
            kind,
            "unknown",
            "Cannot tell whether CPU tracks traffic: no CPU samples or no requests.",
            evidence=[f"source:{requests.source}"],
        )
    freq = f"{max(int(bin_s), 1)}s"
    cpu = series.set_index("sampled_at")["cpu_percent"].resample(freq).mean()
    rate = times.to_frame("at").set_index("at").assign(n=1)["n"].resample(freq).sum() / bin_s
    both = pd.concat({"cpu": cpu, "rps": rate}, axis=1, sort=True).dropna()
    both = both[(both.index >= cpu.dropna().index.min()) & (both.index <= cpu.dropna().index.max())]
    if len(both) < 3:
        return Finding(
            kind,
            "unknown",
            f"Cannot tell whether CPU tracks traffic: the CPU samples and requests from "
            f"`{requests.source}` overlap in {len(both)} bin(s) of {_span(bin_s)} (need 3).",
            {"overlapping_bins": len(both)},
            [f"source:{requests.source}"],
        )
    r = float(both["cpu"].corr(both["rps"])) if both["rps"].std() > 0 and both["cpu"].std() > 0 else 0.0
    half = len(both) // 2
    cpu_rise = float(both["cpu"].iloc[half:].median() - both["cpu"].iloc[:half].median())
    rps_ratio = float(both["rps"].iloc[half:].median() / max(both["rps"].iloc[:half].median(), 1e-9))
    numbers: dict[str, object] = {
        "r": round(r, 2),
        "bins": len(both),
        "cpu_rise_percent": round(cpu_rise, 1),
        "request_rate_ratio": round(rps_ratio, 2),
    }
    if r >= TRACKS_R:
        return Finding(
            kind,
            "info",
            f"CPU tracks request rate (r={r:.2f}): load follows traffic from `{requests.source}`.",
            numbers,
        )
    deploy = ""
    if deploys is not None and not deploys.empty:
        rise_at = both.index[half]
        before = deploys[deploys["deployed_at"] <= rise_at].sort_values("deployed_at")
        if not before.empty:
            sha = str(before.iloc[-1]["sha"])[:7]
            numbers["deploy_sha"] = sha
            deploy = f" after deploy {sha}"
    if cpu_rise >= RISE_POINTS and rps_ratio < FLAT_TRAFFIC_RATIO:
        return Finding(
            kind,
            "high",
            f"CPU rose without more traffic{deploy} (+{cpu_rise:.0f} "
            f"points, request rate x{rps_ratio:.2f}, r={r:.2f}).",
            numbers,
        )
    return Finding(kind, "info", f"CPU does not track request rate (r={r:.2f}){deploy}.", numbers)


def busy_processes(ranked: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`rank_cpu_processes` that were busy at some sample (the culprits)."""
    return ranked[ranked["busy_since_at"].notna()].reset_index(drop=True)
