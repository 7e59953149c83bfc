"""The git history of the plugin paths: what changed since the known-good commit, and when
each invalid file became invalid.

Trees are read with ``git ls-tree`` and ``git cat-file --batch`` (never a checkout: the
kit must not touch the working tree it is investigating). Validity is the caller's
function (``analysis.plugin_rules.tree_is_valid``), passed in so sources stay I/O only.

Frame schema (:data:`CHANGES_SCHEMA`), commits touching the plugin paths after the
known-good commit, newest first::

    committed_at  datetime64[ns, UTC]
    sha, short_sha, author, subject   str
    files         str    comma-joined paths the commit touched (within the plugin paths)

``meta``: ``known_good`` (full sha or ""), ``known_good_from`` (``parameter``, ``walk``,
``head`` when HEAD itself validates, or ``not found``), ``walked`` (commits validated),
``diff_stat`` (``git diff --stat``), ``name_status`` (``[{status, path}]``), ``present``
(plugin paths that exist at HEAD or at known-good), ``head``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from runbook_lib.collected import Collected, conform, empty_frame, guarded, skipped
from runbook_lib.errors import SourceUnavailable
from runbook_lib.paths import resolve
from runbook_lib.sources.plugins.files import classify, files_frame, split_paths

__all__ = ["CHANGES_SCHEMA", "CULPRIT_SCHEMA", "MAX_WALK", "collect_culprits", "collect_plugin_history", "read_tree_at"]

SOURCE = "plugin_history"
#: Commits the walk back validates at most: each costs a tree read and a validation, and a
#: plugin tree broken for longer than this is not an incident but a state.
MAX_WALK = 50
CHANGES_SCHEMA: dict[str, str] = {
    "committed_at": "datetime64[ns, UTC]",
    "sha": "str",
    "short_sha": "str",
    "author": "str",
    "subject": "str",
    "files": "str",
}
Validator = Callable[[pd.DataFrame], bool]


def _git(repo: Path, *args: str, timeout_s: float, stdin: bytes | None = None) -> bytes:
    env = {**os.environ, "LC_ALL": "C", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0"}
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], input=stdin, capture_output=True, timeout=timeout_s, env=env, check=False
        )
    except FileNotFoundError as err:
        raise SourceUnavailable("git is not installed", source=SOURCE, target=str(repo)) from err
    except subprocess.TimeoutExpired as err:
        raise SourceUnavailable(f"git {args[0]} ran past {timeout_s:g} s", source=SOURCE, target=str(repo)) from err
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SourceUnavailable(
            f"git {args[0]}: {message[0] if message else 'failed'}", source=SOURCE, target=str(repo)
        )
    return done.stdout


def read_tree_at(repo: Path, ref: str, paths: list[str], *, timeout_s: float = 10.0) -> pd.DataFrame:
    """The plugin-files frame of *ref*'s tree (files_frame schema), read from git objects."""
    listing = _git(repo, "ls-tree", "-r", "-z", "--name-only", ref, "--", *paths, timeout_s=timeout_s)
    names = [n for n in listing.decode("utf-8", "surrogateescape").split("\0") if n and classify(n)]
    if not names:
        return files_frame([])
    request = "".join(f"{ref}:{n}\n" for n in names).encode("utf-8", "surrogateescape")
    out = _git(repo, "cat-file", "--batch", timeout_s=timeout_s, stdin=request)
    items: list[tuple[str, bytes | None, str]] = []
    pos = 0
    for name in names:
        header_end = out.index(b"\n", pos)
        header = out[pos:header_end].split(b" ")
        if len(header) < 3 or header[1] != b"blob":
            items.append((name, None, "not a file in git"))
            pos = header_end + 1
            continue
        size = int(header[2])
        items.append((name, out[header_end + 1 : header_end + 1 + size], ""))
        pos = header_end + 1 + size + 1
    return files_frame(items)


def _commits(repo: Path, rev: str, paths: list[str], *, limit: int, timeout_s: float) -> list[dict[str, str]]:
    raw = _git(
        repo,
        "log",
        f"-n{limit}",
        "--format=%x1e%H%x00%h%x00%ct%x00%an%x00%s",
        "--name-only",
        rev,
        "--",
        *paths,
        timeout_s=timeout_s,
    )
    rows = []
    for record in raw.decode("utf-8", "replace").split("\x1e")[1:]:
        head, _, names = record.partition("\n")
        sha, short, ts, author, subject = head.split("\x00", 4)
        rows.append(
            {
                "sha": sha,
                "short_sha": short,
                "ts": ts,
                "author": author,
                "subject": subject,
                "files": ",".join(n for n in names.split("\n") if n.strip()),
            }
        )
    return rows


def _present(repo: Path, refs: list[str], paths: list[str], timeout_s: float) -> list[str]:
    present = []
    for path in paths:
        for ref in refs:
            if _git(repo, "ls-tree", "--name-only", ref, "--", path, timeout_s=timeout_s).strip():
                present.append(path)
                break
    return present


def collect_plugin_history(
    repo: str,
    plugin_paths: str,
    *,
    known_good: str = "",
    is_valid: Validator,
    max_walk: int = MAX_WALK,
    timeout_s: float = 10.0,
    progress: Callable[[int, int], None] | None = None,
) -> Collected:
    """Commits to the plugin paths since *known_good* (or since the last commit that validates).

    *progress* (done, total) is told after each commit validated on the walk back."""
    if not str(repo).strip():
        return skipped(SOURCE, CHANGES_SCHEMA, "no repo configured")
    base = resolve(str(repo).strip())
    paths = split_paths(plugin_paths)

    def read() -> Collected:
        head = _git(base, "rev-parse", "--verify", "HEAD", timeout_s=timeout_s).decode().strip()
        meta: dict[str, object] = {"head": head, "walked": 0, "known_good_from": "parameter"}
        if known_good.strip():
            good = _git(base, "rev-parse", "--verify", f"{known_good.strip()}^{{commit}}", timeout_s=timeout_s)
            good_sha = good.decode().strip()
        else:
            good_sha = ""
            candidates = _commits(base, "HEAD", paths, limit=max_walk, timeout_s=timeout_s)
            meta["known_good_from"] = "not found"
            for i, commit in enumerate(candidates):
                meta["walked"] = i + 1
                if progress is not None:
                    progress(i + 1, len(candidates))
                if is_valid(read_tree_at(base, commit["sha"], paths, timeout_s=timeout_s)):
                    good_sha = commit["sha"]
                    meta["known_good_from"] = "head" if i == 0 and good_sha == head else "walk"
                    break
            if progress is not None:  # the walk may stop early: close the bar
                progress(len(candidates), len(candidates))
        meta["known_good"] = good_sha
        rows = _commits(base, f"{good_sha}..HEAD" if good_sha else "HEAD", paths, limit=max_walk, timeout_s=timeout_s)
        frame = pd.DataFrame(rows)
        if frame.empty:
            frame = empty_frame(CHANGES_SCHEMA)
        else:
            frame["committed_at"] = pd.to_datetime(frame.pop("ts").astype("int64"), unit="s", utc=True)
            frame = conform(frame, CHANGES_SCHEMA)
        if good_sha:
            meta["diff_stat"] = _git(
                base, "diff", "--stat", good_sha, "HEAD", "--", *paths, timeout_s=timeout_s
            ).decode("utf-8", "replace")
            raw = _git(
                base, "diff", "--name-status", "--no-renames", good_sha, "HEAD", "--", *paths, timeout_s=timeout_s
            )
            meta["name_status"] = [
                {"status": line.split("\t", 1)[0], "path": line.split("\t", 1)[1]}
                for line in raw.decode("utf-8", "replace").splitlines()
                if "\t" in line
            ]
        meta["present"] = _present(base, [head, good_sha] if good_sha else [head], paths, timeout_s)
        result = Collected(SOURCE, str(base), frame, lines_read=len(frame), meta=meta)
        if not good_sha and not known_good.strip():
            result.status = "partial"
            result.reason = f"none of the last {meta['walked']} commits to the plugin paths validates (max_walk)"
        return result

    return guarded(SOURCE, str(base), CHANGES_SCHEMA, read)


CULPRIT_SCHEMA: dict[str, str] = {
    "path": "str",
    "sha": "str",
    "short_sha": "str",
    "committed_at": "datetime64[ns, UTC]",
    "author": "str",
    "subject": "str",
    "how": "str",
}


def collect_culprits(
    repo: str, files: list[str], *, is_valid: Validator, max_walk: int = MAX_WALK, timeout_s: float = 10.0
) -> Collected:
    """For each (currently invalid) file, the commit that made it invalid (:data:`CULPRIT_SCHEMA`).

    Walks the file's own commits newest first while its version there is invalid; the
    oldest of that run is the culprit: ``introduced`` when the file did not exist before
    it, ``broke`` when it was valid before. A file invalid only together with others
    (a duplicate name) has no culprit row.
    """
    if not str(repo).strip():
        return skipped("plugin_culprits", CULPRIT_SCHEMA, "no repo configured")
    base = resolve(str(repo).strip())

    def read() -> Collected:
        rows = []
        for path in files:
            culprit = None
            for commit in _commits(base, "HEAD", [path], limit=max_walk, timeout_s=timeout_s):
                version = read_tree_at(base, commit["sha"], [path], timeout_s=timeout_s)
                if version.empty or is_valid(version):
                    break  # absent (deleted, then re-added later) or valid: the culprit is newer
                culprit = commit
            if culprit is None:
                continue
            before = b""
            if _has_parent(base, culprit["sha"], timeout_s):
                before = _git(base, "ls-tree", "--name-only", f"{culprit['sha']}^", "--", path, timeout_s=timeout_s)
            rows.append(
                {
                    "path": path,
                    **{k: culprit[k] for k in ("sha", "short_sha", "author", "subject")},
                    "committed_at": pd.Timestamp(int(culprit["ts"]), unit="s", tz="UTC"),
                    "how": "broke" if before.strip() else "introduced",
                }
            )
        frame = conform(pd.DataFrame(rows), CULPRIT_SCHEMA) if rows else empty_frame(CULPRIT_SCHEMA)
        return Collected("plugin_culprits", str(base), frame, lines_read=len(files))

    return guarded("plugin_culprits", str(base), CULPRIT_SCHEMA, read)


def _has_parent(repo: Path, sha: str, timeout_s: float) -> bool:
    parents = _git(repo, "rev-list", "--parents", "-n1", sha, timeout_s=timeout_s).decode().split()
    return len(parents) > 1
