"""Run a flow notebook with papermill into a new archived run folder, honestly.

papermill writes the output notebook before raising, but a cell timeout, a dead kernel or
a SIGTERM leave a notebook it does not mark as failed. The runner therefore records the
real outcome itself (``ok``, ``failed``, ``timed out``, ``interrupted``) in ``run.json``,
the incident timeline and the index, and always archives what was produced.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import nbformat

from runbook_lib import findings
from runbook_lib.incident import record as incident
from runbook_lib.incident.life import apply_severity
from runbook_lib.incident.severity import POLICIES
from runbook_lib.paths import flow_notebook, project_root
from runbook_lib.redact import redact, redact_obj
from runbook_lib.run import archive
from runbook_lib.run import html as report_html
from runbook_lib.run.params import merge_parameters, notebook_path, read_parameters
from runbook_lib.run.warm_kernel import WarmKernel
from runbook_lib.store import StoreError
from runbook_lib.timewindow import utc_now

Outcome = Literal["ok", "failed", "timed out", "interrupted"]
DEFAULT_CELL_TIMEOUT_S = 600


class Interrupted(BaseException):
    """SIGTERM arrived while a notebook ran (BaseException: no cell may swallow it)."""


@dataclass
class RunResult:
    incident_id: str
    flow: str
    run_dir: Path
    status: Outcome
    error: str
    elapsed_s: float
    index: Path

    @property
    def report(self) -> Path:
        return self.run_dir / "report.html"


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Turn SIGTERM into :class:`Interrupted` so the run is archived as interrupted."""
    try:
        previous = signal.getsignal(signal.SIGTERM)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Interrupted()

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class PreparedRun:
    """A run folder allocated and its records written, ready to execute."""

    flow: str
    incident_id: str
    notebook: Path
    run_dir: Path
    values: dict[str, Any]  # the parameters given (papermill injects these)
    effective: dict[str, Any]  # every declared parameter with the value the run uses
    info: dict[str, Any]  # run.json
    root: Path | None = None


def run_flow(
    flow: str,
    incident_id: str,
    *,
    files: Sequence[Path] = (),
    overrides: Iterable[tuple[str, str]] = (),
    cell_timeout_s: int = DEFAULT_CELL_TIMEOUT_S,
    root: Path | None = None,
    kernel: WarmKernel | None = None,
) -> RunResult:
    """Execute *flow* for *incident_id*; return the archived result (never raises for a
    notebook failure; raises ParameterError for bad parameters before anything runs).
    *kernel*: one started earlier still (``runbook run`` starts it before its imports);
    it is used once and always ended."""
    with kernel or WarmKernel(preload=flow_notebook(flow)) as warm:  # boots while the run is prepared
        run = prepare_run(flow, incident_id, files=files, overrides=overrides, root=root)
        output = run.run_dir / "report.ipynb"
        status, error, elapsed = execute_notebook(
            run.notebook, output, run.values, run_dir=run.run_dir, cell_timeout_s=cell_timeout_s, kernel=warm
        )
        return archive_run(run, status, error, elapsed)


def prepare_run(
    flow: str,
    incident_id: str,
    *,
    files: Sequence[Path] = (),
    overrides: Iterable[tuple[str, str]] = (),
    root: Path | None = None,
) -> PreparedRun:
    """Check the incident and the parameters, allocate the run folder, write run.json,
    parameters.json and inputs.json. Raises ParameterError before any folder exists."""
    nb_path = notebook_path(flow)
    flow = nb_path.stem
    incident.load_incident(incident_id, root)  # fail early, before a run folder exists
    declared = read_parameters(nb_path)
    values, notes = merge_parameters(
        declared,
        defaults_file=project_root() / "parameters" / "defaults.yaml",
        files=files,
        overrides=overrides,
    )
    if "incident_id" in declared:
        values["incident_id"] = incident_id
    if "interactive" in declared:
        values["interactive"] = False  # batch: no widgets, whatever a file or -p said
    effective = {name: values.get(name, p.default) for name, p in declared.items()}
    run_dir = archive.allocate_run_dir(incident.incident_dir(incident_id, root), flow)
    info: dict[str, Any] = {
        "flow": flow,
        "incident_id": incident_id,
        "status": "running",
        "started_at": utc_now().isoformat(),
        "parameters_overridden": sorted(values),
        "notes": notes,
        "notebook": str(nb_path.relative_to(project_root())),
    }
    archive.write_json(run_dir / archive.RUN_FILE, info)
    archive.write_json(run_dir / findings.PARAMETERS_FILE, effective)
    archive.write_json(run_dir / archive.INPUTS_FILE, {"inputs": archive.fingerprint_inputs(effective)})
    return PreparedRun(flow, incident_id, nb_path, run_dir, values, effective, info, root)


def execute_notebook(
    notebook: Path,
    output: Path,
    parameters: dict[str, Any],
    *,
    run_dir: Path,
    cell_timeout_s: int = DEFAULT_CELL_TIMEOUT_S,
    cwd: Path | None = None,
    kernel: WarmKernel | None = None,
) -> tuple[Outcome, str, float]:
    """Run *notebook* with papermill into *output*, the kernel in the project root and
    ``RUNBOOK_RUN_DIR`` = *run_dir*; return (outcome, one-line error, seconds). *cwd* is
    the kernel's working folder (default: the project root).

    papermill marks a timed-out cell "completed", so the outcome is decided here from the
    exception papermill raised, never from the output notebook. A batch run is never
    interactive: ``interactive=False`` is injected whatever *parameters* say, so no widget,
    live panel or progress bar reaches an archived report.
    """
    if "interactive" in read_parameters(notebook):
        parameters = {**parameters, "interactive": False}
    return execute_papermill(
        notebook, output, parameters, run_dir=run_dir, cell_timeout_s=cell_timeout_s, cwd=cwd, kernel=kernel
    )


def execute_papermill(
    notebook: Path,
    output: Path,
    parameters: dict[str, Any],
    *,
    run_dir: Path,
    cell_timeout_s: int = DEFAULT_CELL_TIMEOUT_S,
    cwd: Path | None = None,
    kernel: WarmKernel | None = None,
) -> tuple[Outcome, str, float]:
    """:func:`execute_notebook` with *parameters* as given (tests use it to execute a flow
    with ``interactive=True`` and compare its findings with the batch run's)."""
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    from runbook_lib.run.engine import ENGINE_NAME

    status: Outcome = "ok"
    error = ""
    idle = False  # the kernel finished its cells and waits: it can be asked to exit
    t0 = time.perf_counter()
    root = Path(cwd or project_root())
    own = kernel is None or root.resolve() != kernel.cwd.resolve()
    if own:  # none given, or started for another folder
        kernel = WarmKernel(root, preload=notebook)
    assert kernel is not None
    # The HTML export's first use of nbconvert costs ~0.5 s: load it while the kernel works.
    threading.Thread(target=report_html.warm_up, name="warm-html-export", daemon=True).start()
    try:
        with _sigterm_interrupts():
            kernel.assign(run_dir)
            papermill.execute_notebook(
                str(notebook),
                str(output),
                parameters=parameters,
                cwd=str(root),
                kernel_name="python3",
                engine_name=ENGINE_NAME,
                km=kernel.km,
                before_cells=kernel.wait_assigned,
                progress_bar=False,
                execution_timeout=cell_timeout_s,
            )
        idle = True
    except papermill.PapermillExecutionError as err:
        idle = True
        status, error = "failed", _cell_error(output, err.cell_index, f"{err.ename}: {err.evalue}")
    except CellTimeoutError:
        status, error = "timed out", _cell_error(output, None, f"a cell ran longer than {cell_timeout_s} s")
    except DeadKernelError as err:
        status, error = "failed", _cell_error(output, None, f"the kernel died ({err})")
    except (Interrupted, KeyboardInterrupt):
        status, error = "interrupted", _cell_error(output, None, "interrupted (SIGTERM/Ctrl-C)")
    finally:
        if own:
            kernel.close()
    if idle and not own:
        kernel.stop_soon()  # idle after its last cell: it exits while the caller archives
    return status, error, time.perf_counter() - t0


def archive_run(run: PreparedRun, status: Outcome, error: str, elapsed: float) -> RunResult:
    """Redact and export the report, make sure findings.json exists (a failed run gets an
    "unknown" finding), finish run.json, note the run in the incident and its index."""
    output = run.run_dir / "report.ipynb"
    _redact_notebook(output)
    html_error = ""
    if output.exists():
        try:
            report_html.export_html(output, run.run_dir / "report.html", title=f"{run.incident_id} {run.flow}")
        except Exception as err:  # noqa: BLE001 - a broken export must not lose the run record
            html_error = f"HTML export failed: {type(err).__name__}: {err}"
    if not (run.run_dir / findings.FINDINGS_FILE).exists():
        findings.record_findings(
            flow=run.flow,
            incident_id=run.incident_id,
            folder=run.run_dir,
            parameters=run.effective,
            findings=[findings.Finding("run", "unknown", f"The {run.flow} run did not finish ({status}): {error}")],
            extra={"failed": True, "status": status},
        )
    run.info.update(
        status=status,
        error=redact(error or html_error),
        finished_at=utc_now().isoformat(),
        elapsed_s=round(elapsed, 2),
    )
    archive.write_json(run.run_dir / archive.RUN_FILE, run.info)
    incident.update_incident(run.incident_id, _note_run(run, status, error), run.root)
    index = archive.render_index(run.incident_id, run.root)
    return RunResult(run.incident_id, run.flow, run.run_dir, status, redact(error), elapsed, index)


def _note_run(run: PreparedRun, status: Outcome, error: str) -> Callable[[dict[str, Any]], None]:
    """The change to the incident record for a finished run (and triage's suggested severity)."""
    suggested = _suggested_severity(run.run_dir)
    name = run.run_dir.name

    def note(r: dict[str, Any]) -> None:
        now = utc_now()
        r.setdefault("runs", []).append(
            {"folder": name, "flow": run.flow, "status": status, "started_at": run.info["started_at"]}
        )
        what = f"{run.flow} run {status}" + (f": {redact(error)}" if error else "")
        incident.insert_event(r, incident.timeline_event(now, what, "run", run=name))
        # An unassessed incident takes the severity a run suggested (triage), marked as such.
        if suggested and not r.get("severity"):
            apply_severity(r, suggested, at=now, by=name, why=f"suggested by the {run.flow} run")
            r["severity_source"] = f"suggested by {name}"

    return note


def _suggested_severity(run_dir: Path) -> str:
    """The P-level a run recorded in findings.json ``extra.severity`` ("" if none)."""
    try:
        extra = findings.read_findings(run_dir).get("extra") or {}
        level = (extra.get("severity") or {}).get("level")
    except (StoreError, AttributeError):
        return ""
    return level if level in POLICIES else ""


def _cell_error(output: Path, index: int | None, message: str) -> str:
    """One line naming the failing cell by its number and the section heading above it."""
    message = " ".join(redact(message).split())[:400]
    if not output.exists():
        return message
    nb = nbformat.read(str(output), as_version=4)
    if index is None:
        index = _stuck_cell(nb)
    if index is None:
        return message
    heading = ""
    for cell in reversed(nb.cells[:index]):
        if cell.cell_type == "markdown":
            heading = next((ln.lstrip("# ").strip() for ln in cell.source.splitlines() if ln.strip()), "")
            break
    where = f"cell {index}" + (f" ({heading})" if heading else "")
    return f"{where}: {message}"


def _stuck_cell(nb: Any) -> int | None:
    """The cell a timeout or kill stopped in. papermill marks a timed-out cell "completed"
    without an exception, so look for an error output, then "running", then the last
    cell that started at all."""
    started = None
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("papermill", {})
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])) or meta.get("status") == "running":
            return i
        if meta.get("start_time") and cell.cell_type == "code":
            started = i
    return started


def _redact_notebook(path: Path) -> None:
    """Scrub anything secret-looking from every string of the archived notebook."""
    if not path.exists():
        return
    nb = nbformat.read(str(path), as_version=4)
    cleaned = nbformat.from_dict(redact_obj(json.loads(json.dumps(nb))))
    nbformat.write(cleaned, str(path))
