"""The PostgreSQL server log as a frame: stderr, csvlog, jsonlog, syslog, Heroku, CloudNativePG, Cloud SQL.

Why: when the database refuses connections, its own log is the evidence that survives
(FATAL "too many clients", statement timeouts, deadlocks, slow statements). The log is read
as the server wrote it: gzip and bzip2 are opened transparently (a truncated archive keeps what was
readable), rotated sets and globs are read in name order, and the format is detected per
file from its content (``log_format="auto"``, ``log_detect``): jsonlog only with jsonlog's
fields, CloudNativePG, Google Cloud SQL LogEntries (``log_cloudsql``), csvlog, syslog and
Heroku (``log_syslog``), else stderr. A file that is none of these (JSON of another kind, a
PgBouncer log, an application log) is ``unavailable`` with what it looks like. Amazon RDS /
Aurora's stderr (fixed prefix :data:`RDS_PREFIX`) is read as ``rds`` when the prefix given
does not read it. A container
runtime's file (Kubernetes CRI, Docker json-file, ``docker logs -t``) has the runtime's
wrapper taken off first (``log_container``), then is read as what the server wrote.

Frame schema (:data:`PG_LOG_SCHEMA`), one row per log record (DETAIL/HINT/CONTEXT/STATEMENT
and tab-continued lines folded into their record):

    logged_at          datetime64[ns, UTC]  %m/%t/%n (zone abbreviation converted to UTC)
    pid                Int64
    user, database, application_name, client_addr, session_id   string ("[unknown]" -> NA;
                       from the session's connection lines when the prefix lacks them)
    severity           string  LOG, ERROR, FATAL, PANIC, WARNING, NOTICE, …
    sqlstate           string  %e / csvlog / jsonlog
    message, detail, hint, context, statement   string (statement also from
                       "duration: … statement: SQL" and "execute name: SQL" messages)
    duration_s         float64  from "duration: N ms"
    source_file        string

When the source is down: no file or nothing readable -> ``unavailable``; a file unreadable
among several, a truncated gzip, or a ``log_line_prefix`` matching fewer than half of the
lines that should carry it -> ``partial`` with the reason and sample lines (the usual cause
of an empty pgBadger report, so it is never silent). Non-log lines (pg_ctl chatter) are
counted in ``lines_skipped``; an unmatched line that reads like an ERROR/FATAL/PANIC makes
the source ``partial`` (``meta["lost_errors"]``), and so do records without a readable time
when a window is given (they cannot be placed in it). ``details`` (the sources entry of
findings.json) carries ``format``, ``by_severity``, for Cloud SQL ``instances`` and for a
container file ``container`` (the wrapper taken off). Memory:
stderr is read in chunks, chunks wholly outside the window are skipped unparsed, the rest
filtered chunk by chunk; jsonlog too; a csvlog file or a Cloud SQL export is read whole
(a record's fields may span lines, entries may be newest first).
"""

from __future__ import annotations

import itertools
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from runbook_lib.collected import MAX_SAMPLES, Collected, guarded, skipped
from runbook_lib.errors import ParameterError, SourceDenied, SourceUnavailable
from runbook_lib.paths import resolve
from runbook_lib.sources import _files as logfiles
from runbook_lib.sources.pg.log_blocks import FileResult, parse_stderr_file
from runbook_lib.sources.pg.log_cloudsql import CLOUDSQL_PREFIX, read_cloudsql
from runbook_lib.sources.pg.log_container import detect_wrapper, unwrap
from runbook_lib.sources.pg.log_detect import detect, level_heads, looks_like
from runbook_lib.sources.pg.log_frame import PG_LOG_SCHEMA, FinishState, finish, to_pandas
from runbook_lib.sources.pg.log_prefix import (
    PrefixPattern,
    match_ratio,
    suggest_prefix,
    translate_prefix,
)
from runbook_lib.sources.pg.log_structured import read_csvlog, read_jsonlog
from runbook_lib.sources.pg.log_syslog import SYSLOG_FORMATS, SyslogState, effective_prefix, rewrite
from runbook_lib.timewindow import Window

__all__ = ["LOG_FORMATS", "PG_LOG_SCHEMA", "RDS_PREFIX", "collect_pg_log", "expand_paths"]

SOURCE = "pg_log"
LOG_FORMATS = ("auto", "stderr", "rds", "csvlog", "jsonlog", "cloudnativepg", "cloudsql", *SYSLOG_FORMATS)
#: Amazon RDS and Aurora PostgreSQL write stderr with this fixed prefix (pgBadger's ``-f rds``).
RDS_PREFIX = "%t:%r:%u@%d:[%p]:"
#: Formats recognised by content but not read: the source says what the file is.
_NOT_READ = {"json": "JSON lines that are neither PostgreSQL jsonlog nor Cloud Logging LogEntries"}
#: Below this share of matching lines the prefix is declared wrong (status partial).
MIN_PREFIX_MATCH = 0.5


def collect_pg_log(
    paths: str,
    *,
    window: Window | None = None,
    log_line_prefix: str = "%m [%p] ",
    log_format: str = "auto",
    timezone: str = "",
    syslog_year: int = 0,
) -> Collected:
    """Read the PostgreSQL log(s) *paths* (path, glob, directory, comma-separated list).

    *timezone* (an IANA name) places timestamps that carry no zone; empty means UTC.
    *syslog_year* is the year of BSD syslog lines (their header has none); 0 infers it.
    """
    if log_format not in LOG_FORMATS:
        raise ParameterError(f"must be one of {LOG_FORMATS}, not {log_format!r}", key="log_format")
    if timezone:
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ParameterError(
                f"unknown time zone {timezone!r} (an IANA name such as 'Europe/Paris')", key="timezone"
            ) from None
    if not str(paths).strip():
        return skipped(SOURCE, PG_LOG_SCHEMA)
    if syslog_year and not 1970 <= syslog_year <= 9999:
        raise ParameterError(f"a year such as 2026, not {syslog_year!r}", key="syslog_year")
    state = FinishState(timezone=timezone, syslog_year=syslog_year)
    return guarded(SOURCE, paths, PG_LOG_SCHEMA, lambda: _collect(paths, window, log_line_prefix, log_format, state))


def expand_paths(paths: str) -> list[Path]:
    """Files named by *paths*: comma-separated paths, globs or directories.

    Paths and globs follow the kit's rule for every log (``sources._files``): a plain
    path brings in its rotations (``postgresql.log.1``, ``….2.gz``), oldest first; a
    directory (``log_directory``) means every file in it, in name order.
    """
    found: list[Path] = []
    for part in (p.strip() for p in str(paths).split(",")):
        if not part:
            continue
        target = resolve(part)
        if target.is_dir():
            found.extend(sorted(p for p in target.iterdir() if p.is_file()))
        else:
            found.extend(logfiles.expand_paths(part))
    return list(dict.fromkeys(found))


def _collect(paths: str, window: Window | None, prefix: str, log_format: str, state: FinishState) -> Collected:
    files = expand_paths(paths)
    if not files:
        raise SourceUnavailable(f"no file matches {paths!r}", source=SOURCE, target=paths)
    pattern = translate_prefix(prefix)
    frames: list[pl.DataFrame] = []
    problems: list[str] = []
    meta: dict[str, Any] = {"files": [], "prefix": prefix, "ignored_escapes": list(pattern.ignored)}
    read = skipped_lines = candidates = matched = 0
    samples: list[str] = []
    unmatched: list[str] = []
    mismatched: list[str] = []
    lost_errors = aside = logentries_aside = 0
    instances: list[str] = []
    by_severity: dict[str, int] = {}
    strangers: list[str] = []
    for path in files:
        blocks = logfiles.Blocks(path)
        try:
            result = _read_file(blocks, log_format, pattern, window, state)
        except FileNotFoundError as err:
            problems.append(f"{path}: missing ({err.strerror})")
            continue
        except PermissionError as err:
            problems.append(f"{path}: permission denied ({err.strerror})")
            continue
        except OSError as err:
            problems.append(f"{path}: cannot read ({err.strerror or err})")
            continue
        if result.fmt in _NOT_READ:
            problems.append(f"{path}: looks like {_NOT_READ[result.fmt]}, not a PostgreSQL log")
            strangers.append(path.name)
            continue
        unread = result.fmt == "stderr" and result.candidates and not result.matched and not result.rows
        if unread and not suggest_prefix(result.unmatched[:2000]) and not level_heads(result.unmatched):
            # no prefix reads it and no line has a server's "LEVEL:  ": not a server log
            problems.append(f"{path}: looks like {looks_like(result.unmatched)}, not a PostgreSQL log")
            strangers.append(path.name)
            continue
        if result.fmt == "cloudsql" and result.aside and not result.candidates:
            problems.append(f"{path}: holds {result.aside} Cloud Logging LogEntries, none of postgres.log")
            strangers.append(path.name)
            continue
        entry: dict[str, Any] = {"path": str(path), "format": result.fmt, "records": result.rows}
        if result.container:
            entry["container"] = result.container
        if result.skipped_chunks:
            entry["chunks_outside_window"] = result.skipped_chunks
        if result.fmt == "cloudsql":
            entry.update(instances=result.instances, entry_severity=result.entry_severity, entries_aside=result.aside)
            instances.extend(result.instances)
            logentries_aside += result.aside
        else:
            aside += result.aside
        meta["files"].append(entry)
        lost_errors += result.lost_errors
        if result.frame is not None and result.frame.height:
            for sev, n in result.frame["severity"].fill_null("?").value_counts().iter_rows():
                by_severity[sev] = by_severity.get(sev, 0) + int(n)
        if result.frame is not None:
            frames.append(result.frame)
        read += result.read
        skipped_lines += result.skipped
        samples.extend(result.samples)
        if result.candidates:
            entry["prefix_match_ratio"] = round(result.matched / result.candidates, 4)
            # judged per file: one rotated file with another prefix must not hide in the total
            if result.matched / result.candidates < MIN_PREFIX_MATCH:
                candidates += result.candidates
                matched += result.matched
                unmatched.extend(result.unmatched)
                mismatched.append(path.name)
        if blocks.truncated:
            problems.append(f"{path}: {blocks.truncated}")
        if result.fmt in ("csvlog", "jsonlog", "cloudsql") and result.skipped * 2 > result.read:
            problems.append(
                f"{path}: {result.skipped} of {result.read} records are not {result.fmt} (wrong log_format?)"
            )
    if len(problems) == len(files) and not meta["files"]:
        error = SourceDenied if all("denied" in p for p in problems) else SourceUnavailable
        raise error("; ".join(problems), source=SOURCE, target=paths)
    frame = to_pandas(frames)
    out = Collected(SOURCE, paths, frame, lines_read=read, lines_skipped=skipped_lines, meta=meta)
    formats = sorted({f["format"] for f in meta["files"] if f["format"] != "empty"})
    out.details = {"format": ",".join(formats) or "empty", "by_severity": dict(sorted(by_severity.items()))}
    if instances:
        out.details["instances"] = sorted(set(instances))
    containers = sorted({f["container"] for f in meta["files"] if f.get("container")})
    if containers:
        out.details["container"] = ",".join(containers)
    meta.update(by_severity=out.details["by_severity"], format=out.details["format"], cnpg_other_lines=aside)
    ratio = matched / candidates if candidates else 1.0
    meta.update(prefix_match_ratio=round(ratio, 4), prefix_mismatch=False, suggested_prefix="")
    reasons = list(problems)
    if "rds" in formats and prefix != RDS_PREFIX:
        reasons.append(f"read as Amazon RDS/Aurora stderr (log_line_prefix {RDS_PREFIX!r}, not {prefix!r})")
    if mismatched:
        meta["prefix_mismatch"] = True
        meta["mismatched_files"] = mismatched
        hint = suggest_prefix(unmatched[:2000])
        text = (
            f"log_line_prefix {prefix!r} does not match {', '.join(mismatched[:3])}"
            f"{' …' if len(mismatched) > 3 else ''}: it matches {matched} of "
            f"{candidates} lines ({ratio:.0%}); set log_line_prefix to the server's setting "
            "(levels are read in English: the server needs lc_messages 'C' or 'en')"
        )
        if hint:
            meta["suggested_prefix"] = hint[0]
            text += f" (the lines look like log_line_prefix={hint[0]!r}, {hint[1]:.0%} match)"
        elif heads := level_heads(unmatched):
            text += f" (the server printed {heads[0]!r} before each level: give the prefix that prints that)"
        reasons.insert(0, text)
        samples = unmatched[:3] + samples
    if state.zones:
        reasons.append(f"time zone(s) {sorted(state.zones)} unknown, read as UTC")
    undated = int(frame["logged_at"].isna().sum())
    if undated:
        reasons.append(f"{undated} record(s) without a readable time (no %m/%t/%n in the prefix?)")
    if state.undated_outside:
        reasons.append(f"{state.undated_outside} records without a readable time, not placed in the window")
    if lost_errors:
        reasons.append(f"{lost_errors} unmatched line(s) read like ERROR/FATAL/PANIC and are missing here")
    if aside:
        reasons.append(f"{aside} line(s) of other CloudNativePG loggers set aside")
    if logentries_aside:
        entries = "LogEntry" if logentries_aside == 1 else "LogEntries"
        reasons.append(f"{logentries_aside} {entries} of other logs (not postgres.log) set aside")
    meta.update(lost_errors=lost_errors, undated_outside=state.undated_outside, not_pg_logs=strangers)
    meta.update(instances=out.details.get("instances", []), logentries_aside=logentries_aside)
    for line in samples:
        out.add_sample(line)
    if meta["prefix_mismatch"] or problems or lost_errors or state.undated_outside:
        out.status = "partial"
    elif skipped_lines:
        reasons.append(f"{skipped_lines} non-log line(s) skipped")
    out.reason = "; ".join(reasons)
    return out


def _read_file(
    blocks: logfiles.Blocks, log_format: str, pattern: PrefixPattern, window: Window | None,
    state: FinishState,
) -> FileResult:  # fmt: skip
    texts = blocks.texts()
    first = next(texts, None)
    if first is None:
        return FileResult(None, "empty")
    head = first[0][:65536].decode("utf-8", "replace")
    detected = detect(head)
    wrapper = "" if log_format in SYSLOG_FORMATS or detected in SYSLOG_FORMATS else detect_wrapper(head)
    if wrapper:  # a container runtime's file: its wrapper off every line, then read what the server wrote
        texts = unwrap(itertools.chain([first], texts), wrapper)
        first = next(texts, None)
        if first is None or not first[0]:
            return FileResult(None, "empty")
        head = first[0][:65536].decode("utf-8", "replace")
        detected = detect(head)
    if log_format != "auto":
        fmt = log_format
    elif detected == "stderr" and _reads_as_rds(head, pattern.prefix):
        fmt = "rds"
    else:
        fmt = detected
    result = _read_text(first, texts, fmt, pattern, window, state, blocks.path)
    result.container = wrapper
    return result


def _read_text(
    first: tuple[bytes, bool], texts: Iterator[tuple[bytes, bool]], fmt: str,
    pattern: PrefixPattern, window: Window | None, state: FinishState, path: Path,
) -> FileResult:  # fmt: skip
    if fmt in _NOT_READ:
        return FileResult(None, fmt)
    stream = itertools.chain([first], texts)
    if fmt == "cloudsql":  # entries back in time order: the whole file
        export = read_cloudsql(b"\n".join(t for t, _ in stream).decode("utf-8", "replace"))
        joined = iter([("\n".join(export.lines).encode(), True)])
        result = parse_stderr_file(joined, translate_prefix(CLOUDSQL_PREFIX), window, path, state)
        result.fmt, result.read, result.aside = fmt, export.entries, export.aside
        result.skipped += export.skipped
        result.samples = (export.samples + result.samples)[:MAX_SAMPLES]
        result.instances, result.entry_severity = export.instances, export.entry_severity
        return result
    if fmt == "stderr":
        return parse_stderr_file(stream, pattern, window, path, state)
    if fmt == "rds":
        result = parse_stderr_file(stream, translate_prefix(RDS_PREFIX), window, path, state)
        result.fmt = fmt
        return result
    if fmt in SYSLOG_FORMATS:
        syslog = SyslogState(year=state.syslog_year)
        full = translate_prefix(effective_prefix(fmt, pattern.prefix))

        def transform(lines: pl.Series) -> pl.Series:
            return rewrite(lines, fmt, full.pattern, syslog, prefix=pattern.prefix)

        result = parse_stderr_file(stream, full, window, path, state, transform)
        result.fmt = fmt
        return result
    return _parse_structured(stream, fmt, window, path, state)


def _reads_as_rds(head: str, prefix: str) -> bool:
    """True when RDS's fixed prefix reads the first lines and the *prefix* given does not
    (the kit's default on an RDS log: read it, as pgBadger's ``-f rds`` would)."""
    lines = [line for line in head.split("\n")[:-1][:200] if line.strip() and not line.startswith("\t")]
    return match_ratio(RDS_PREFIX, lines) >= MIN_PREFIX_MATCH > match_ratio(prefix, lines)


def _parse_structured(
    texts: Iterator[tuple[bytes, bool]], fmt: str, window: Window | None, path: Path,
    state: FinishState,
) -> FileResult:  # fmt: skip
    # jsonlog has one record per line: chunk by chunk. A csvlog field may hold newlines,
    # so a csvlog file is parsed whole.
    chunks = (
        ((t.decode("utf-8", "replace"), last) for t, last in texts)
        if fmt != "csvlog"
        else iter([(b"\n".join(t for t, _ in texts).decode("utf-8", "replace"), True)])
    )
    res = FileResult(None, fmt)
    frames: list[pl.DataFrame] = []
    for text, _ in chunks:
        parsed = read_csvlog(text) if fmt == "csvlog" else read_jsonlog(text.split("\n"))
        frames.append(finish(parsed.records, window, str(path), state))
        res.read += parsed.read
        res.skipped += parsed.skipped
        res.aside += parsed.aside
        res.samples.extend(parsed.samples[: MAX_SAMPLES - len(res.samples)])
    res.frame = pl.concat(frames)
    res.rows = res.frame.height
    return res
