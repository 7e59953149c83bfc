"""Deployments as recorded by git: the first-parent history of a checkout.

Why git: on most teams "what changed?" is answered by the branch that is deployed. Each
first-parent commit of ``HEAD`` is one deploy (a merge of a pull request counts once, with
the diff it brought in), dated by its *committer* date (when it landed, not when it was
written).

Frame schema (:data:`DEPLOY_SCHEMA`), newest first::

    deployed_at     datetime64[ns, UTC]  committer date
    sha             string               full commit id
    short_sha       string               abbreviated id (as git abbreviates it)
    author          string               author name
    subject         string               first line of the message (any text, hostile too)
    files_changed   int64                files touched (a merge: against its first parent)
    insertions      int64                lines added
    deletions       int64                lines removed
    tags            string               comma-joined tags pointing at the commit ("" if none)

When the source is down: ``repo=""`` gives a ``skipped`` result; a missing folder, a folder
that is not a git checkout, git not installed or git running past ``timeout_s`` give an
``unavailable`` result with a one-line reason and an empty frame of the schema. git runs
without a shell, with a fixed locale and no pager, so the reason is predictable.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pandas as pd

from runbook_lib.collected import Collected, conform, empty_frame, guarded, skipped
from runbook_lib.errors import SourceDataError, SourceUnavailable
from runbook_lib.paths import resolve

__all__ = ["DEPLOY_SCHEMA", "MAX_COMMITS", "collect_deploys", "parse_log"]

SOURCE = "deploys"

DEPLOY_SCHEMA: dict[str, str] = {
    "deployed_at": "datetime64[ns, UTC]",
    "sha": "string",
    "short_sha": "string",
    "author": "string",
    "subject": "string",
    "files_changed": "int64",
    "insertions": "int64",
    "deletions": "int64",
    "tags": "string",
}

# Fields are NUL-separated: NUL is the one byte git never prints inside a name or subject,
# so tabs, quotes, newlines-turned-spaces and unicode in a subject cannot shift columns.
# Each record starts with RS (0x1e) so the --shortstat text that follows a record can be
# told apart from the next commit's sha.
_FIELDS = ("sha", "short_sha", "committed_ts", "author", "refs", "subject")
_FORMAT = "%x1e%H%x00%h%x00%ct%x00%an%x00%D%x00%s%x00"
_STAT = re.compile(
    r"(?P<files>\d+) files? changed"
    r"(?:, (?P<ins>\d+) insertions?\(\+\))?"
    r"(?:, (?P<dels>\d+) deletions?\(-\))?"
)
# git reads committer dates with 1 s resolution; the slack lets commits whose committer
# date is slightly out of order (clock skew between machines) still be walked before git
# stops at --since. The exact window is applied afterwards in pandas.
_SINCE_SLACK = pd.Timedelta(days=1)
#: Most commits read per call: a window on a busy monorepo must not read its whole history.
MAX_COMMITS = 10_000


def collect_deploys(
    repo: str,
    *,
    since: pd.Timestamp,
    until: pd.Timestamp | None = None,
    timeout_s: float = 10.0,
    max_commits: int = MAX_COMMITS,
) -> Collected:
    """The deploys (first-parent commits of HEAD) committed in ``[since, until]``, newest first.

    *repo* is a path (relative paths resolve against the project root). *since*/*until*
    are timestamps (naive means UTC); ``until=None`` means up to now. When more than
    *max_commits* commits fall in the window the newest are kept and the result is
    ``partial``.
    """
    if not str(repo).strip():
        return skipped(SOURCE, DEPLOY_SCHEMA, "no repo configured")
    path = resolve(str(repo).strip())
    start = _utc(since)
    end = _utc(until) if until is not None else None

    def read() -> Collected:
        raw = _git_log(path, start, end, timeout_s=timeout_s, max_commits=max_commits + 1)
        frame = parse_log(raw, source_target=str(path))
        in_window = frame["deployed_at"] >= start
        if end is not None:
            in_window &= frame["deployed_at"] <= end
        frame = frame[in_window].reset_index(drop=True)
        result = Collected(SOURCE, str(path), frame.head(max_commits), lines_read=len(frame))
        if len(frame) > max_commits:
            result.status = "partial"
            result.reason = f"more than {max_commits} commits in the window; kept the newest"
        elif frame.empty:
            result.reason = "no commits in the window"
        return result

    return guarded(SOURCE, str(path), DEPLOY_SCHEMA, read)


def parse_log(raw: bytes, *, source_target: str = "") -> pd.DataFrame:
    """Parse the output of ``git log --format=<_FORMAT> --shortstat`` into DEPLOY_SCHEMA."""
    text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        return empty_frame(DEPLOY_SCHEMA)
    if not text.startswith("\x1e"):
        raise SourceDataError("unexpected git log output", source=SOURCE, target=source_target)
    pieces = text[1:].split("\x00")
    rows: list[dict[str, object]] = []
    # pieces: 6 fields, then "<stat of this commit>\x1e<sha of the next>", 5 fields, ...
    stride = len(_FIELDS)
    head = pieces[0]
    i = 1
    while i + stride - 1 <= len(pieces) - 1:
        values = [head, *pieces[i : i + stride - 1]]
        tail = pieces[i + stride - 1]
        stat, _, head = tail.partition("\x1e")
        record = dict(zip(_FIELDS, values, strict=True))
        rows.append(_row(record, stat))
        i += stride
    if not rows:
        raise SourceDataError("unexpected git log output", source=SOURCE, target=source_target)
    frame = pd.DataFrame(rows)
    frame["deployed_at"] = pd.to_datetime(frame["deployed_at"], unit="s", utc=True).astype("datetime64[ns, UTC]")
    return conform(frame, DEPLOY_SCHEMA)


def _row(record: dict[str, str], stat: str) -> dict[str, object]:
    match = _STAT.search(stat)
    tags = [ref[len("tag: ") :] for ref in record["refs"].split(", ") if ref.startswith("tag: ")]
    return {
        "deployed_at": int(record["committed_ts"]),
        "sha": record["sha"],
        "short_sha": record["short_sha"],
        "author": record["author"],
        "subject": record["subject"],
        "files_changed": int(match["files"]) if match else 0,
        "insertions": int(match["ins"] or 0) if match else 0,
        "deletions": int(match["dels"] or 0) if match else 0,
        "tags": ",".join(tags),
    }


def _git_log(
    path: Path,
    since: pd.Timestamp,
    until: pd.Timestamp | None,
    *,
    timeout_s: float,
    max_commits: int,
) -> bytes:
    if not path.exists():
        raise SourceUnavailable("no such folder", source=SOURCE, target=str(path))
    if not path.is_dir():
        raise SourceUnavailable("not a folder", source=SOURCE, target=str(path))
    args = [
        "git",
        "-C",
        str(path),
        "--no-pager",
        "-c",
        "log.showSignature=false",
        "-c",
        "core.quotePath=false",
        "log",
        "--first-parent",  # implies --diff-merges=first-parent: a merge shows what it brought
        "--no-color",
        "--no-show-signature",
        "--shortstat",
        "--decorate-refs=refs/tags/",
        f"--max-count={max_commits}",
        f"--since={_git_date(since - _SINCE_SLACK)}",
        f"--format={_FORMAT}",
        "HEAD",
        "--",
    ]
    if until is not None:
        args.insert(-2, f"--until={_git_date(until + _SINCE_SLACK)}")
    env = {
        **os.environ,
        "LC_ALL": "C",
        "LANG": "C",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_PAGER": "cat",
        # The folder itself must be the checkout: a plain folder inside another repository
        # (say demo/ inside the kit's own clone) must not report that repository's history.
        "GIT_CEILING_DIRECTORIES": str(path.resolve().parent),
    }
    try:
        done = subprocess.run(args, capture_output=True, timeout=timeout_s, env=env, check=False)
    except FileNotFoundError as err:
        raise SourceUnavailable("git is not installed", source=SOURCE, target=str(path)) from err
    except subprocess.TimeoutExpired as err:
        raise SourceUnavailable(
            f"git log did not finish within {timeout_s:g} s", source=SOURCE, target=str(path)
        ) from err
    except OSError as err:
        raise SourceUnavailable(f"cannot run git: {err}", source=SOURCE, target=str(path)) from err
    if done.returncode != 0:
        raise SourceUnavailable(_first_line(done.stderr), source=SOURCE, target=str(path))
    return done.stdout


def _first_line(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", errors="replace").splitlines()]
    message = next((ln for ln in lines if ln.startswith("fatal:")), "") or next(
        (ln for ln in lines if ln), "git log failed"
    )
    message = message.removeprefix("fatal:").strip()
    if any(s in message for s in ("any commits yet", "unknown revision", "bad revision")):
        return f"repository has no commits ({message})"
    return message


def _utc(stamp: pd.Timestamp | str) -> pd.Timestamp:
    ts = pd.Timestamp(stamp)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _git_date(stamp: pd.Timestamp) -> str:
    return stamp.strftime("%Y-%m-%d %H:%M:%S +0000")
