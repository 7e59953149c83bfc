"""PostgreSQL logs forwarded through syslog (BSD and RFC 5424) and Heroku's logplex.

Why a rewrite and not a parser of its own: once the syslog header is taken off, the rest
is what the server wrote to stderr (its ``log_line_prefix``, ``SEVERITY:  message``), so
each line is rewritten into the stderr shape ``<time> [<pid>] <rest>`` and read by the one
stderr parser with the prefix ``%m [%p] `` + the server's own. The header's time and pid are
added only where the server's prefix lacks them: a server that kept ``%m [%p] `` (Debian's
default) when it moved to syslog is read by its own times, with milliseconds and zone.

Formats, as documented:

- BSD syslog (RFC 3164, rsyslog's default): ``Mon DD HH:MM:SS host postgres[pid]: [seq-part] …``.
  PostgreSQL's ``syslog_sequence_numbers`` (on by default) writes ``[seq-part]``, off writes
  ``[part]``; a message split over several lines (embedded newlines, or
  ``syslog_split_messages`` past ~900 bytes) has parts 2, 3, … with the same seq. The
  header has no year: it is the current year, or the previous one when that would put the
  log's last line in the future; a log running over New Year steps the year where the
  month goes back (Dec -> Jan). ``year`` overrides the inference.
- RFC 5424: ``<pri>1 2026-11-27T05:00:01.123+01:00 host postgres 4003 - - [seq-part] …``.
- RFC 3339 file format (rsyslog's ``RSYSLOG_FileFormat``, Debian 12's default; ``journalctl
  -o short-iso``): ``2026-11-27T05:00:01.123456+01:00 host postgres[pid]: [seq-part] …``.
- Heroku Postgres (logplex): ``2026-11-27T05:00:01+00:00 app[postgres.4003]: [COLOR] [seq-part]
  sql_error_code = 00000 LOG:  …``: the prefix after the counter is fixed
  (``sql_error_code = %e ``).

Parts after the first become tab-continued lines placed right after their first part (same
pid and seq), so interleaved processes do not mix their messages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

SYSLOG_FORMATS = ("syslog", "heroku")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, start=1)}
_COUNTER = r"(?:\[(?:(?P<seq>\d+)-)?(?P<part>\d+)\] ?)?"
_BSD = (
    r"^(?:<\d+>)?(?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<time>\d\d:\d\d:\d\d) \S+ "
    r"[^\s\[:]+\[(?P<pid>\d+)\]: " + _COUNTER + r"(?P<rest>.*)$"
)
_RFC5424 = (
    r"^(?:<\d+>)?1 (?P<date>\d{4}-\d\d-\d\d)T(?P<time>\d\d:\d\d:\d\d)(?P<frac>\.\d+)?(?P<zone>Z|[+-]\d\d:\d\d) "
    r"\S+ \S+ (?P<pid>\d+) \S+ (?:-|\[.*?\]) " + _COUNTER + r"(?P<rest>.*)$"
)
#: rsyslog's RSYSLOG_FileFormat (Debian 12's default) and ``journalctl -o short-iso``:
#: a BSD header with an RFC 3339 time in place of "Mon DD HH:MM:SS".
_ISO = (
    r"^(?P<date>\d{4}-\d\d-\d\d)T(?P<time>\d\d:\d\d:\d\d)(?P<frac>\.\d+)?(?P<zone>Z|[+-]\d\d:?\d\d) \S+ "
    r"[^\s\[:]+\[(?P<pid>\d+)\]: " + _COUNTER + r"(?P<rest>.*)$"
)
_HEROKU = (
    r"^(?P<date>\d{4}-\d\d-\d\d)T(?P<time>\d\d:\d\d:\d\d)(?P<frac>\.\d+)?(?P<zone>Z|[+-]\d\d:\d\d) "
    r"\S+\[postgres\.(?P<pid>\d+)\]: (?:\[[A-Z_]+\] )?" + _COUNTER + r" *(?P<rest>.*)$"
)
#: The prefix Heroku Postgres writes after the counter.
HEROKU_PREFIX = "sql_error_code = %e "


def detect_syslog(head: list[str]) -> str:
    """``syslog`` or ``heroku`` when the first non-blank lines carry that header, else ``""``."""
    lines = pl.Series([h for h in head if h.strip()][:20], dtype=pl.String)
    if lines.len() == 0:
        return ""
    if _share(lines.str.contains(_HEROKU)) >= 0.5:
        return "heroku"
    if _share(lines.str.contains(_BSD) | lines.str.contains(_RFC5424) | lines.str.contains(_ISO)) >= 0.5:
        return "syslog"
    return ""


def _share(flags: pl.Series) -> float:
    return float(flags.sum()) / flags.len() if flags.len() else 0.0


#: Escapes that print the time: a server prefix with one of them keeps its own (milliseconds, zone).
_TIME_ESCAPES = ("%m", "%t", "%n")


def header_fields(prefix: str) -> tuple[bool, bool]:
    """Whether the rewrite takes the time, and the pid, from the syslog header: only where
    the server's *prefix* does not print them itself (``%m [%p] `` on a syslog server)."""
    plain = prefix.replace("%%", "")
    return not any(e in plain for e in _TIME_ESCAPES), "%p" not in plain


def server_prefix(fmt: str, prefix: str) -> str:
    """What follows the header in *fmt*'s lines: Heroku's fixed prefix, else the server's *prefix*."""
    return HEROKU_PREFIX if fmt == "heroku" else prefix


def effective_prefix(fmt: str, prefix: str) -> str:
    """The stderr prefix that reads the rewritten lines of *fmt*."""
    rest = server_prefix(fmt, prefix)
    time, pid = header_fields(rest)
    return ("%m " if time else "") + ("[%p] " if pid else "") + rest


@dataclass
class SyslogState:
    """Carried from chunk to chunk: the year and month of the last line (BSD headers)."""

    year: int = 0  # 0: not known yet
    month: int = 0


def _years(months: pl.Series, state: SyslogState, today: dt.date) -> pl.Series:
    """The year of each BSD line: steps where the month goes back (New Year)."""
    filled = months.forward_fill().fill_null(state.month or 1)
    previous = filled.shift(1).fill_null(state.month or filled[0])
    steps = (filled < previous).cast(pl.Int32).cum_sum()
    if not state.year:
        total = int(steps[-1]) if steps.len() else 0
        last_year = today.year
        last_month = int(filled[-1]) if filled.len() else 1
        if last_month > today.month:  # the last line would be in the future: last year's log
            last_year -= 1
        state.year = last_year - total
    years = steps + state.year
    state.year = int(years[-1]) if years.len() else state.year
    state.month = int(filled[-1]) if filled.len() else state.month
    return years


def rewrite(
    lines: pl.Series, fmt: str, pattern: str, state: SyslogState, today: dt.date | None = None, prefix: str = ""
) -> pl.Series:
    """Rewrite syslog/logplex *lines* into stderr lines that *pattern* reads: the effective
    prefix of the server's *prefix* (:func:`effective_prefix`)."""
    frame = pl.DataFrame({"line": lines}).with_row_index("i")
    if fmt == "heroku":
        parts = frame.with_columns(pl.col("line").str.extract_groups(_HEROKU).alias("g")).unnest("g")
        parts = parts.with_columns(_iso_ts())
    else:
        bsd = frame.select(pl.col("line").str.extract_groups(_BSD).alias("g")).unnest("g")
        rfc = frame.select(pl.col("line").str.extract_groups(_RFC5424).alias("g")).unnest("g")
        months = bsd["mon"].replace_strict(_MONTHS, default=None, return_dtype=pl.Int32)
        years = _years(months, state, today or dt.datetime.now(dt.UTC).date())
        bsd_ts = pl.format(
            "{}-{}-{} {}.000",
            pl.lit(years),
            pl.lit(months).cast(pl.String).str.zfill(2),
            pl.col("day").str.zfill(2),
            pl.col("time"),
        )
        bsd = bsd.with_columns(pl.when(pl.col("mon").is_not_null()).then(bsd_ts).alias("ts"))
        rfc = rfc.with_columns(_iso_ts())
        iso = frame.select(pl.col("line").str.extract_groups(_ISO).alias("g")).unnest("g").with_columns(_iso_ts())
        parts = frame.with_columns(
            *(pl.coalesce(bsd[c], rfc[c], iso[c]).alias(c) for c in ("ts", "pid", "seq", "part", "rest")),
        )
    is_head = pl.col("ts").is_not_null() & (pl.col("part").is_null() | (pl.col("part") == "1"))
    rest = pl.col("rest").str.replace_all("#011", "\t")
    time, pid = header_fields(server_prefix(fmt, prefix))
    header = [*([pl.col("ts")] if time else []), *([pl.format("[{}]", pl.col("pid"))] if pid else [])]
    whole = pl.concat_str([*header, rest], separator=" ")
    parts = parts.with_columns(
        pl.when(is_head).then(pl.col("i")).otherwise(None).forward_fill().over("pid").alias("head"),
        # a later part is a line of its own when it carries the prefix (the STATEMENT/DETAIL
        # lines of an error report), else the next line of a multi-line message
        pl.when(is_head | whole.str.contains(pattern))
        .then(whole)
        .when(pl.col("ts").is_not_null())
        .then(pl.lit("\t") + pl.col("rest").str.replace(r"^(?:#011|\t)", "").str.replace_all("#011", "\t"))
        .otherwise(pl.col("line"))
        .alias("out"),
    )
    # parts of one message sit after their first part, whatever other pids wrote in between
    parts = parts.with_columns(pl.coalesce(pl.col("head"), pl.col("i")).alias("head")).sort(
        ["head", "i"], maintain_order=True
    )
    return parts["out"].alias("line")


def _iso_ts() -> pl.Expr:
    zone = pl.when(pl.col("zone") == "Z").then(pl.lit("UTC")).otherwise(pl.col("zone"))
    return pl.format("{} {}{} {}", pl.col("date"), pl.col("time"), pl.col("frac").fill_null(".000"), zone).alias("ts")
