"""From a chunk of log lines to the access frame's columns, with polars (one pass per pattern).

Given a :class:`~runbook_lib.sources.logs.logformat.Layout`, :func:`extract_fields` matches every
line of a chunk — strict variant first, then the general pattern, the tolerant fallback and
the tail check on what is left — and turns the captured variables into the columns of
:data:`runbook_lib.sources.logs.access_log.ACCESS_SCHEMA` (timestamps to UTC, ``-`` to ``""``
or 0, times to float seconds, the request line split into method/path/protocol).
Every line ends up either as a row or among the malformed lines: counts are exact.
"""

from __future__ import annotations

import polars as pl

from runbook_lib.sources.logs.logformat import Layout

__all__ = ["extract_fields"]

_PARALLEL_MIN = 200_000
_PROBE = 200  # lines used to pick a chunk's strict variant
_DASH_EMPTY = ("remote_user", "http_referer", "http_user_agent", "http_x_forwarded_for")
_RENAMED = {
    "remote_addr": "client_ip",
    "remote_user": "remote_user",
    "http_referer": "referer",
    "http_user_agent": "user_agent",
    "http_x_forwarded_for": "forwarded_for",
}
# Captured variables that become schema columns through a conversion (not kept as extras).
_INTERNAL = {"matched", "lead", "tail", "remote_ident", "request", "req_method", "req_target", "req_protocol",
             "time_local", "time_iso8601", "msec", "status", "body_bytes_sent", "bytes_sent", "request_time",
             "upstream_response_time"}  # fmt: skip


def _matches(lines: pl.Series, pattern: str, key: str) -> tuple[pl.DataFrame, pl.Series]:
    """Extract the groups of *pattern* from every line; the mask says which lines matched.

    A single ``str.extract_groups`` runs on one core; big chunks are cut into one column
    per core so polars runs the extractions side by side.
    """
    n = len(lines)
    k = min(pl.thread_pool_size(), 4)
    if n < _PARALLEL_MIN or k < 2:
        fields = lines.str.extract_groups(pattern).struct.unnest()
        return fields, fields[key].is_not_null()
    step = -(-n // k)
    parts = [lines.slice(i * step, step) for i in range(k)]
    parts = [p.extend_constant(None, step - len(p)) for p in parts]
    frame = pl.DataFrame({f"part{i}": p for i, p in enumerate(parts)})
    out = frame.select(pl.col(c).str.extract_groups(pattern) for c in frame.columns)
    fields = pl.concat([out[c].struct.unnest() for c in out.columns]).head(n)
    return fields, fields[key].is_not_null()


def _mask(n: int, true_at: pl.Series) -> pl.Series:
    return pl.Series("ok", [False] * n, dtype=pl.Boolean).scatter(true_at, True)


def _merge(
    fields: pl.DataFrame, ok: pl.Series, more: pl.DataFrame, more_at: pl.Series
) -> tuple[pl.DataFrame, pl.Series]:
    """Add rows *more* (matched at positions *more_at*) to *fields*, keeping file order."""
    if more_at.is_empty():
        return fields, ok
    order = ok.arg_true().append(more_at).arg_sort()
    merged = pl.concat([fields, more], how="diagonal_relaxed")[order]
    return merged, ok | _mask(len(ok), more_at)


def _apply_tail(fields: pl.DataFrame, tail: str) -> tuple[pl.DataFrame, pl.Series]:
    if "tail" not in fields.columns:
        return fields, pl.Series("ok", [True] * len(fields), dtype=pl.Boolean)
    parts = fields["tail"].fill_null("").str.extract_groups(tail).struct.unnest()
    ok = parts["matched"].is_not_null()
    return fields.drop("tail").hstack(parts.drop("matched")), ok


def _time_column(fields: pl.DataFrame) -> pl.Expr:
    if "time_local" in fields.columns:
        return pl.col("time_local").str.to_datetime("%d/%b/%Y:%H:%M:%S %z", time_unit="ns", strict=False)
    if "time_iso8601" in fields.columns:
        return pl.col("time_iso8601").str.to_datetime("%+", time_unit="ns", strict=False)
    if "msec" in fields.columns:
        nanos = (pl.col("msec").cast(pl.Float64, strict=False) * 1e9).cast(pl.Int64)
        return nanos.cast(pl.Datetime("ns", "UTC"))
    return pl.lit(None, dtype=pl.Datetime("ns", "UTC"))


def _seconds(name: str, fields: pl.DataFrame, *, micro_ints: bool) -> pl.Expr:
    """A time variable (possibly a list of upstream attempts) as float seconds, NaN if none."""
    if name not in fields.columns:
        return pl.lit(float("nan"))
    col = pl.col(name)
    if micro_ints and name == "request_time":
        value = col.cast(pl.Float64, strict=False)
        # Apache %D (microseconds) is an integer; nginx always writes "0.000".
        value = pl.when(col.str.contains(".", literal=True)).then(value).otherwise(value / 1e6)
    elif name == "upstream_response_time":
        numbers = col.str.extract_all(r"[0-9]+(?:\.[0-9]+)?")
        value = pl.when(numbers.list.len() > 0).then(numbers.list.eval(pl.element().cast(pl.Float64)).list.sum())
    else:
        value = col.cast(pl.Float64, strict=False)
    return value.fill_null(float("nan"))


def _request_parts(fields: pl.DataFrame) -> list[pl.Expr]:
    """method, path, protocol: from the fast pattern's split, else by splitting ``request``."""
    if "req_method" not in fields.columns and "request" not in fields.columns:
        return [pl.lit(""), pl.lit(""), pl.lit("")]
    split = [pl.col(c) for c in ("req_method", "req_target", "req_protocol")]
    if "request" not in fields.columns:
        return split
    req = pl.col("request")
    method = req.str.extract(r"^([A-Za-z][A-Za-z_-]*) ", 1)
    protocol = req.str.extract(r" (HTTP/[0-9](?:\.[0-9])?)$", 1)
    start = method.str.len_chars() + 1
    cut = pl.when(protocol.is_null()).then(0).otherwise(protocol.str.len_chars() + 1)
    target = req.str.slice(start, req.str.len_chars() - start - cut)
    whole = [
        method.fill_null(""),
        pl.when(method.is_null()).then(req).otherwise(target),
        pl.when(method.is_null()).then(pl.lit("")).otherwise(protocol.fill_null("")),
    ]
    if "req_method" not in fields.columns:
        return whole
    return [pl.coalesce(a, b).fill_null("") for a, b in zip(split, whole, strict=True)]


def _lead_xff(fields: pl.DataFrame) -> pl.Expr:
    """An X-Forwarded-For chain written before ``$remote_addr`` (fallback lines only)."""
    lead = pl.col("lead").fill_null("").str.strip_chars(' "').str.strip_chars_end(", ")
    is_chain = pl.col("lead").fill_null("").str.contains(r'^"|,')
    return pl.when(is_chain).then(lead).otherwise(pl.lit(""))


def _match_general(lines: pl.Series, layout: Layout) -> tuple[pl.DataFrame, pl.Series]:
    """Main pattern, then the tolerant fallback, then the tail check; matched rows + mask."""
    fields, ok = _matches(lines, layout.pattern, layout.key)
    fields = fields if bool(ok.all()) else fields.filter(ok)
    if layout.fallback is not None and not bool(ok.all()):
        rest_at = (~ok).arg_true()
        more, more_ok = _matches(lines.filter(~ok), layout.fallback, layout.key)
        fields, ok = _merge(fields, ok, more.filter(more_ok), rest_at.filter(more_ok))
    if layout.tail is not None:
        if "lead" not in fields.columns:
            fields = fields.with_columns(pl.lit(None, dtype=pl.String).alias("lead"))
        fields, tail_ok = _apply_tail(fields, layout.tail)
        if not bool(tail_ok.all()):
            bad_at = ok.arg_true().filter(~tail_ok)
            fields, ok = fields.filter(tail_ok), ok & ~_mask(len(ok), bad_at)
    return fields, ok


def _match_all(lines: pl.Series, layout: Layout) -> tuple[pl.DataFrame, pl.Series]:
    """Fields of every line that fits the layout (file order) and the mask of those lines."""
    if not layout.variants or lines.is_empty():
        return _match_general(lines, layout)
    probe = lines.head(_PROBE)
    hits = [int(probe.str.contains(v).sum()) for v in layout.variants]
    if max(hits) == 0:
        return _match_general(lines, layout)
    fields, ok = _matches(lines, layout.variants[hits.index(max(hits))], layout.key)
    if bool(ok.all()):
        return fields, ok
    rest_at = (~ok).arg_true()
    more, more_ok = _match_general(lines.filter(~ok), layout)
    return _merge(fields.filter(ok), ok, more, rest_at.filter(more_ok))


def extract_fields(lines: pl.Series, layout: Layout) -> tuple[pl.DataFrame, pl.Series]:
    """Parse a chunk of lines; return the access frame's columns and the malformed lines.

    Every line ends up in exactly one of the two results (row counts are exact). The
    ``source_file`` column is the caller's: one value per file, not a string per row.
    """
    fields, ok = _match_all(lines, layout)
    rest = lines.filter(~ok)
    if not bool(ok.all()):
        lines = lines.filter(ok)
    stamp = fields.select(_time_column(fields).alias("requested_at"))["requested_at"]
    timed = stamp.is_not_null()
    if not bool(timed.all()):
        rest = rest.append(lines.filter(~timed))
        fields, stamp = fields.filter(timed), stamp.filter(timed)
    del lines
    text = {name: pl.col(name).fill_null("") if name in fields.columns else pl.lit("") for name in _RENAMED}
    for name in _DASH_EMPTY:
        if name in fields.columns:
            text[name] = pl.when(pl.col(name) == "-").then(pl.lit("")).otherwise(text[name])
    if "lead" in fields.columns:
        text["http_x_forwarded_for"] = (
            pl.when(text["http_x_forwarded_for"] == "").then(_lead_xff(fields)).otherwise(text["http_x_forwarded_for"])
        )
    size = next((c for c in ("body_bytes_sent", "bytes_sent") if c in fields.columns), None)
    method, path, protocol = _request_parts(fields)
    micro = layout.name == "combined"
    frame = fields.select(
        *(expr.alias(_RENAMED[name]) for name, expr in text.items()),
        method.alias("method"),
        path.alias("path"),
        protocol.alias("protocol"),
        (pl.col("status").cast(pl.Int64, strict=False) if "status" in fields.columns else pl.lit(0, dtype=pl.Int64))
        .fill_null(0)
        .alias("status"),
        (pl.col(size).cast(pl.Int64, strict=False).fill_null(0) if size else pl.lit(0, dtype=pl.Int64)).alias(
            "response_bytes"
        ),
        _seconds("request_time", fields, micro_ints=micro).alias("request_time_s"),
        _seconds("upstream_response_time", fields, micro_ints=micro).alias("upstream_time_s"),
        *(pl.col(c) for c in fields.columns if c not in _INTERNAL and c not in _RENAMED),
    ).with_columns(stamp.alias("requested_at"))
    return frame, rest
