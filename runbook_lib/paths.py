"""Where things live: the project root, relative parameter paths, the current run folder."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "HOME_ENV",
    "RUN_DIR_ENV",
    "flow_notebook",
    "notebooks_dir",
    "project_root",
    "reports_root",
    "resolve",
    "run_dir",
]

#: Set by the runner for the kernel: the run folder that receives findings.json.
RUN_DIR_ENV = "RUNBOOK_RUN_DIR"
#: Optional override of the project root (where notebooks/, parameters/, reports/ live).
HOME_ENV = "RUNBOOK_HOME"


def project_root() -> Path:
    """The kit's checkout: ``$RUNBOOK_HOME``, else the nearest parent with ``notebooks/``.

    Notebooks run with their own folder as cwd in JupyterLab and with the project root in
    batch, so relative parameter paths are resolved against this, not the cwd.
    """
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "notebooks").is_dir() and (candidate / "parameters").is_dir():
            return candidate
    package_parent = Path(__file__).resolve().parent.parent
    if (package_parent / "notebooks").is_dir():
        return package_parent
    return here


def resolve(path: str | os.PathLike[str]) -> Path:
    """Resolve a parameter path: absolute as given, relative against :func:`project_root`."""
    p = Path(os.path.expanduser(str(path)))
    return p if p.is_absolute() else project_root() / p


def notebooks_dir() -> Path:
    """Where the flows' notebooks are: one ``<flow>.ipynb`` per flow."""
    return project_root() / "notebooks"


def flow_notebook(flow: str) -> Path:
    """Where *flow*'s notebook is (``high-cpu`` names ``high_cpu``), whether or not it exists."""
    return notebooks_dir() / f"{flow.replace('-', '_')}.ipynb"


def reports_root() -> Path:
    return project_root() / "reports"


def run_dir(flow: str = "scratch") -> Path:
    """The folder this notebook run archives into (a scratch folder outside the runner)."""
    env = os.environ.get(RUN_DIR_ENV)
    path = Path(env) if env else reports_root() / "_scratch" / flow
    path.mkdir(parents=True, exist_ok=True)
    return path
