"""``runbook lab``: JupyterLab on the flow notebooks, for interactive investigation.

With ``--incident ID`` the incident's parameters (see :mod:`runbook_lib.run.lab`) are
written to a file named by ``RUNBOOK_LAB_PARAMS``; each flow's first code cell loads the
values for its flow. The announcements pop-up and the news/update checks are off through a
private application settings folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any


def lab_command(args: argparse.Namespace, workdir: Path) -> tuple[list[str], dict[str, str]]:
    """The ``jupyter lab`` argv and environment for *args*; lab files are written to *workdir*."""
    from runbook_lib.notebook.lab import LAB_PARAMS_ENV
    from runbook_lib.paths import HOME_ENV, project_root
    from runbook_lib.run.lab import write_lab_files

    root = project_root()
    files = write_lab_files(workdir, args.incident or "")
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        f"--notebook-dir={root}",
        "--ServerApp.default_url=/lab/tree/notebooks",
        f"--LabApp.app_settings_dir={files['settings']}",
    ]
    if args.no_browser:
        cmd.append("--no-browser")
    if args.port:
        cmd.append(f"--port={args.port}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # on-call hosts and containers often run as root
    cmd += [a for a in args.jupyter_args if a != "--"]
    path = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, HOME_ENV: str(root), "PYTHONPATH": path}
    if "parameters" in files:
        env[LAB_PARAMS_ENV] = str(files["parameters"])
    return cmd, env


def _cmd_lab(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="runbook-lab-"))
    cmd, env = lab_command(args, workdir)
    if args.incident:
        print(f"{args.incident}: parameters for the notebooks in {env['RUNBOOK_LAB_PARAMS']}")
    # exec, not a child: Ctrl-C and SIGTERM reach JupyterLab itself and nothing is orphaned.
    os.execve(sys.executable, cmd, env)


def register(sub: Any) -> None:
    """Add ``lab`` to the ``runbook`` parser."""
    p = sub.add_parser("lab", help="open JupyterLab on the notebooks")
    p.add_argument("--incident", help="load this incident's parameters in the notebooks (INC-YYYY-MM-DD-NNN)")
    p.add_argument("--port", type=int)
    p.add_argument("--no-browser", action="store_true")
    p.add_argument("jupyter_args", nargs=argparse.REMAINDER, help="after --: passed to jupyter lab")
    p.set_defaults(func=_cmd_lab)
