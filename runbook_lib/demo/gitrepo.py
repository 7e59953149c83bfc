"""git for the demo generators: commits with fixed people and back-dated times, no user config."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd


def git(
    repo: Path,
    *args: str,
    when: pd.Timestamp | None = None,
    author: tuple[str, str] = ("Dana Deployer", "dana@example.com"),
    committer: tuple[str, str] | None = None,
) -> str:
    """Run ``git -C repo args`` with a clean environment; return its stdout."""
    committer = committer or author
    env = {
        "GIT_AUTHOR_NAME": author[0],
        "GIT_AUTHOR_EMAIL": author[1],
        "GIT_COMMITTER_NAME": committer[0],
        "GIT_COMMITTER_EMAIL": committer[1],
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "HOME": str(repo),
    }
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when.isoformat()
    done = subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True)
    return done.stdout.strip()
