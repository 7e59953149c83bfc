"""PostgreSQL logs as containers keep them: the runtime's wrapper taken off each line.

Why: a server in Docker or Kubernetes writes its log to stderr, and what the on-call
engineer copies is the container runtime's file or ``docker logs -t`` / ``kubectl logs
--timestamps`` output, with the runtime's own wrapper around every line the server wrote.
Once the wrapper is off, the text is what the server wrote (stderr with its
``log_line_prefix``, or jsonlog, or CloudNativePG's JSON), and is read as such.

Wrappers, as the runtimes document them:

- ``cri`` (Kubernetes node files ``/var/log/pods/…/N.log``, containerd and CRI-O):
  ``<RFC 3339 time> <stdout|stderr> <P|F> <text>``; a ``P`` (partial) line is continued
  by the next one of the same stream until an ``F`` (full) one.
- ``docker-json`` (Docker's json-file driver, ``/var/lib/docker/containers/<id>/<id>-json.log``):
  ``{"log": "<text>\\n", "stream": "stderr", "time": "<RFC 3339>"}``; a ``log`` without the
  final newline (Docker splits lines over 16 KiB) is continued by the next entry.
- ``timestamped`` (``docker logs -t``, ``kubectl logs --timestamps``): ``<RFC 3339 time> <text>``.

Lines without the wrapper (a note pasted in, a truncated line) are kept as they are and
meet the reader's own accounting (skipped, sampled).
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from runbook_lib.sources.pg.log_stderr import lines_of

__all__ = ["WRAPPERS", "detect_wrapper", "unwrap"]

_RFC3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)"
_CRI = r"^" + _RFC3339 + r" (?:stdout|stderr) (?P<tag>[PF]) (?P<text>.*)$"
_STAMPED = r"^" + _RFC3339 + r" "
_DOCKER = r'^\{"log":'
WRAPPERS = ("cri", "docker-json", "timestamped")


def detect_wrapper(head: str) -> str:
    """The container wrapper of a file whose first kilobytes are *head*, or ``""``.

    Judged on its first 20 non-blank lines (half must carry it). A Heroku logplex line also
    starts with an RFC 3339 time: the syslog detection takes it first.
    """
    lines = pl.Series([h for h in head.split("\n") if h.strip()][:20], dtype=pl.String)
    if lines.len() == 0:
        return ""
    for kind, pattern in (("cri", _CRI), ("docker-json", _DOCKER), ("timestamped", _STAMPED)):
        if int(lines.str.contains(pattern).sum()) * 2 >= lines.len():
            return kind
    return ""


def unwrap(texts: Iterator[tuple[bytes, bool]], kind: str) -> Iterator[tuple[bytes, bool]]:
    """The blocks of *texts* with the *kind* wrapper taken off every line.

    A partial line at a block's end waits for the next block, where its continuation is.
    """
    carry: pl.Series | None = None
    for text, last in texts:
        lines = lines_of(text) if carry is None else pl.concat([carry, lines_of(text)])
        if kind == "timestamped":
            out, carry = lines.str.replace(_STAMPED, ""), None
        else:
            out, carry = _join_partials(lines, kind, last)
        if out.len():
            yield "\n".join(out.to_list()).encode(), last
        elif last:
            yield b"", True


def _join_partials(lines: pl.Series, kind: str, last: bool) -> tuple[pl.Series, pl.Series | None]:
    """CRI ``P`` lines and Docker entries without their newline, joined to what continues them."""
    if kind == "cri":
        parts = lines.str.extract_groups(_CRI)
        text = parts.struct.field("text").fill_null(lines)
        partial = parts.struct.field("tag").fill_null("F") == "P"
    else:
        log = lines.str.json_path_match("$.log")
        partial = log.is_not_null() & ~log.str.ends_with("\n")
        text = log.str.strip_suffix("\n").fill_null(lines)
    frame = pl.DataFrame({"text": text, "partial": partial}).with_row_index("i")
    # a line starts a new joined line unless the one before it was partial
    frame = frame.with_columns(pl.col("partial").shift(1, fill_value=False).not_().cum_sum().alias("line"))
    carry = None
    if not last and frame.height and frame["partial"][-1]:
        first_of_run = frame.filter(pl.col("line") == frame["line"][-1])["i"][0]
        carry, frame = lines.slice(first_of_run), frame.slice(0, first_of_run)
    joined = frame.group_by("line", maintain_order=True).agg(pl.col("text").str.join(""))
    return joined["text"], carry
