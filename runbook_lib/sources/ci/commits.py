"""The commits between a test's last passing run and its first failing one (``git log W..X``).

Frame (:data:`COMMITS_SCHEMA`): one row per (range, commit): base, head, sha, short_sha,
committed_at, author, subject, files (newline-joined paths the commit touched). ``repo=""``
is ``skipped``; a missing checkout, unknown commits or git failing are ``unavailable``/
``partial`` with a one-line reason. Commit ids come from ``run.json`` (untrusted): only hex
ids are passed to git, never options.
"""

from __future__ import annotations

import os
import re
import subprocess
from typing import Any

import pandas as pd

from runbook_lib.collected import Collected, conform, empty_frame, skipped
from runbook_lib.paths import resolve

__all__ = ["COMMITS_SCHEMA", "collect_commit_ranges"]

SOURCE = "git_ranges"
COMMITS_SCHEMA: dict[str, str] = {
    "base": "string",
    "head": "string",
    "sha": "string",
    "short_sha": "string",
    "committed_at": "datetime64[ns, UTC]",
    "author": "string",
    "subject": "string",
    "files": "string",
}
_HEX = re.compile(r"^[0-9a-fA-F]{4,64}$")
#: Most commits listed per range: a range of thousands is a bisect job, not a review list.
MAX_PER_RANGE = 200


def collect_commit_ranges(
    repo: str, ranges: pd.DataFrame, *, base: str = "last_pass_commit", head: str = "first_fail_commit",
    timeout_s: float = 10.0,
) -> Collected:  # fmt: skip
    """``git log base..head --name-only`` for each row of *ranges* (head alone when base is unknown)."""
    if not str(repo).strip():
        return skipped(SOURCE, COMMITS_SCHEMA, "no repo configured")
    path = resolve(str(repo).strip())
    pairs = {(str(b or ""), str(h or "")) for b, h in zip(ranges.get(base, []), ranges.get(head, []), strict=False)}
    pairs = {(b if _HEX.match(b) else "", h) for b, h in pairs if _HEX.match(h)}
    if not pairs:
        return Collected(SOURCE, str(path), empty_frame(COMMITS_SCHEMA), reason="no commit range to read")
    if not path.is_dir():
        return Collected(SOURCE, str(path), empty_frame(COMMITS_SCHEMA), status="unavailable", reason="no such folder")
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    env = {**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_CEILING_DIRECTORIES": str(path.parent)}
    for b, h in sorted(pairs):
        spec = [f"{b}..{h}"] if b else ["-1", h]
        args = ["git", "-C", str(path), "--no-pager", "log", f"--max-count={MAX_PER_RANGE}", "--name-only",
                "--format=%x1e%H%x00%h%x00%ct%x00%an%x00%s", *spec, "--"]  # fmt: skip
        try:
            done = subprocess.run(args, capture_output=True, timeout=timeout_s, env=env, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            problems.append(f"{b[:8]}..{h[:8]}: {type(err).__name__}")
            continue
        if done.returncode != 0:
            problems.append(f"{b[:8]}..{h[:8]}: {done.stderr.decode(errors='replace').strip().splitlines()[-1:]}")
            continue
        for record in done.stdout.decode("utf-8", errors="replace").split("\x1e")[1:]:
            fields = record.split("\x00")
            sha, short, ts, author, rest = fields[0], fields[1], fields[2], fields[3], fields[4]
            subject, _, files = rest.partition("\n")
            rows.append({"base": b, "head": h, "sha": sha, "short_sha": short, "author": author, "subject": subject,
                         "committed_at": pd.Timestamp(int(ts), unit="s", tz="UTC"),
                         "files": "\n".join(f for f in files.splitlines() if f.strip())})  # fmt: skip
    frame = conform(pd.DataFrame(rows), COMMITS_SCHEMA) if rows else empty_frame(COMMITS_SCHEMA)
    result = Collected(SOURCE, str(path), frame, lines_read=len(rows))
    if problems:
        result.status = "partial" if rows else "unavailable"
        result.reason = f"{len(problems)} of {len(pairs)} ranges unreadable; first: {problems[0]}"
    return result
