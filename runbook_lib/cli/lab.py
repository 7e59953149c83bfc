"""``runbook lab``: JupyterLab on the flow notebooks, for interactive investigation."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def _cmd_lab(args: argparse.Namespace) -> int:
    from runbook_lib.paths import project_root

    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        f"--notebook-dir={project_root()}",
        "--ServerApp.default_url=/lab/tree/notebooks",
    ]
    if args.no_browser:
        cmd.append("--no-browser")
    if args.port:
        cmd.append(f"--port={args.port}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # on-call hosts and containers often run as root
    cmd += [a for a in args.jupyter_args if a != "--"]
    env = {**os.environ, "RUNBOOK_HOME": str(project_root())}
    # exec, not a child: Ctrl-C and SIGTERM reach JupyterLab itself and nothing is orphaned.
    os.execve(sys.executable, cmd, env)


def register(sub: Any) -> None:
    """Add ``lab`` to the ``runbook`` parser."""
    p = sub.add_parser("lab", help="open JupyterLab on the notebooks")
    p.add_argument("--port", type=int)
    p.add_argument("--no-browser", action="store_true")
    p.add_argument("jupyter_args", nargs=argparse.REMAINDER, help="after --: passed to jupyter lab")
    p.set_defaults(func=_cmd_lab)
