"""Background recordings that survive the incident (``runbook record pg --incident ID``).

pgcenter's record/report idea: sample ``pg_stat_activity`` for a while into a JSON-lines
file, each sample appended as it is taken, so a recording cut short by a crash, a kill or
the incident itself keeps every sample taken before. The db_connections flow analyses a
recording instead of sampling when its ``pg_recording`` parameter names one
(:func:`runbook_lib.sources.pg.activity.read_activity_recording`).
"""

from __future__ import annotations

from pathlib import Path

from runbook_lib.collected import DEFAULT_TIMEOUT_S
from runbook_lib.errors import SourceUnavailable
from runbook_lib.incident.record import validate_incident_id
from runbook_lib.paths import reports_root
from runbook_lib.sources.pg.activity import collect_activity
from runbook_lib.timewindow import utc_now

RECORDINGS_DIR = "recordings"


def recording_path(incident_id: str, out_dir: Path | None = None) -> Path:
    """Where a new recording goes: ``<out_dir>/pg_activity-<UTC stamp>.jsonl``.

    *out_dir* defaults to ``reports/<incident_id>/recordings/``.
    """
    folder = out_dir if out_dir is not None else reports_root() / incident_id / RECORDINGS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"pg_activity-{utc_now():%Y%m%dT%H%M%SZ}.jsonl"


def record_activity(
    incident_id: str,
    *,
    pg_service: str = "",
    pg_dsn_env: str = "",
    duration_s: float = 600.0,
    interval_s: float = 5.0,
    out_dir: Path | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Path:
    """Sample pg_stat_activity for *duration_s* into a new recording and return its path.

    Raises :class:`SourceUnavailable` when not a single sample could be taken (the CLI
    prints it as one line); a partial recording is returned, since it holds evidence.
    """
    if incident_id:
        validate_incident_id(incident_id)
    path = recording_path(incident_id or "_scratch", out_dir)
    result = collect_activity(
        pg_service, pg_dsn_env, duration_s=duration_s, interval_s=interval_s, timeout_s=timeout_s, record_to=path
    )
    if result.status == "skipped":
        raise SourceUnavailable("give pg_service or pg_dsn_env to record", source="postgres")
    if not result.usable:
        if result.error is not None:
            raise result.error
        raise SourceUnavailable(result.reason, source=result.source, target=result.target)
    return path
