"""Line-oriented logs (error logs, application logs) read record by record.

The files come from :mod:`runbook_lib.sources._files` (globs, rotations, gzip, bad bytes);
this module turns lines into records with a caller's parser, joins continuation lines,
drops records outside the window as soon as they are complete, and decides the status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from runbook_lib.collected import MAX_SAMPLES, Collected, conform, empty_frame, guarded
from runbook_lib.errors import SourceError, SourceUnavailable
from runbook_lib.sources._files import FileRead, iter_lines
from runbook_lib.timewindow import Window

__all__ = ["LineResult", "collect_line_files", "collect_line_records"]

#: What a line parser returns: a new record, text continuing the previous record, or
#: ``None`` for a malformed line.
LineResult = dict[str, Any] | str | None


def collect_line_records(
    files: list[Path],
    parse: Callable[[str, bool], LineResult],
    *,
    source: str,
    schema: Mapping[str, str],
    window: Window | None = None,
    time_key: str = "logged_at",
) -> Collected:
    """Read line-oriented logs (error logs, app logs) record by record, oldest file first.

    *parse(line, has_previous)* decides what each non-blank line is. A ``str`` result is
    appended (after a newline) to the previous record's ``message`` — stack traces,
    multi-line FastCGI output. Records outside *window* are dropped as soon as they are
    complete, so memory follows the window. Raises the last ``SourceError`` only if no file
    could be opened; otherwise missing files and damage make the result ``partial``.
    """
    rows: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    keep_current = False
    read = skipped_lines = outside = 0
    samples: list[str] = []
    problems: list[str] = []
    last_error: SourceError | None = None
    opened = 0

    def finish() -> None:
        nonlocal outside
        if current is not None:
            if keep_current:
                rows.append(current)
            else:
                outside += 1

    for path in files:
        state = FileRead(path)
        try:
            for line in iter_lines(path, source=source, state=state):
                if not line.strip():
                    continue
                read += 1
                parsed = parse(line, current is not None)
                if isinstance(parsed, dict):
                    finish()
                    parsed["source_file"] = str(path)
                    current = parsed
                    stamp = parsed.get(time_key)
                    keep_current = window is None or (stamp is not None and window.start <= stamp < window.end)
                elif isinstance(parsed, str) and current is not None:
                    current["message"] = f"{current['message']}\n{parsed}"
                else:
                    skipped_lines += 1
                    if len(samples) < MAX_SAMPLES:
                        samples.append(line)
            opened += 1
        except SourceError as err:
            last_error = err
            problems.append(f"{path.name}: {str(err).rsplit(': ', 1)[-1]}")
            continue
        if state.damage:
            problems.append(f"{path.name}: {state.damage}")
    finish()
    if opened == 0 and last_error is not None:
        raise last_error
    frame = conform(pd.DataFrame(rows) if rows else empty_frame(schema), schema)
    result = Collected(source, ", ".join(str(p) for p in files), frame)
    result.lines_read, result.lines_skipped = read, skipped_lines
    for sample in samples:
        result.add_sample(sample)
    if skipped_lines:
        problems.insert(0, f"{skipped_lines} malformed line(s) skipped")
    if problems:
        result.status = "partial"
        result.reason = "; ".join(problems)
    if read and skipped_lines == read:  # not one record: wrong file or wrong layout
        result.status = "unavailable"
        result.reason = f"none of {read} line(s) could be read as {source} records"
    result.meta.update(files=[str(p) for p in files], records_outside_window=outside)
    return result


def collect_line_files(
    spec: str,
    files: list[Path],
    parse: Callable[[str, bool], LineResult],
    *,
    source: str,
    schema: Mapping[str, str],
    window: Window | None = None,
) -> Collected:
    """:func:`collect_line_records` over *files*, expanded from the path spec *spec*, as a
    source result that never raises on a broken world: no matching file, or none that
    could be opened, gives an ``unavailable`` result (:func:`~runbook_lib.collected.guarded`).
    """

    def read() -> Collected:
        if not files:
            raise SourceUnavailable("no file matches", source=source, target=spec)
        return collect_line_records(files, parse, source=source, schema=schema, window=window)

    target = ", ".join(str(p) for p in files) or spec
    return guarded(source, target, schema, read)
