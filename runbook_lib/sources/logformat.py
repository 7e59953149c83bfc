"""Translate an nginx ``log_format`` string into one compiled whole-line pattern.

Why one pattern: extracting every field of a line with a single anchored regex (run by
polars' Rust engine over a whole chunk) was both the fastest and the only *exact* way we
measured — quote-aware CSV readers silently swallow the line after a truncated quoted
field, and polars' CSV reader drops lines whose user agent holds ``\\"``. A line either
matches the layout completely or it is counted as malformed; nothing in between.

How a format becomes a pattern: literal text is escaped; each ``$variable`` becomes a named
group (named after the variable) whose shape depends on the variable and on its context:

- inside double quotes (``"$http_user_agent"``): anything up to the closing quote, with
  backslash escapes (``\\"``, ``\\x22``) allowed, so embedded quotes cannot split a field;
- ``"$request"`` is split in the same pass into ``req_method``, ``req_target`` (the raw
  request target, query string included) and ``req_protocol`` when it has the ordinary
  shape ``METHOD target HTTP/x``; lines whose request does not (``-``, ``""``,
  ``GARBAGE``, escaped quotes, spaces in the target) are matched again by a *fallback*
  pattern capturing ``request`` whole, which is split afterwards (or kept whole as the
  path when it has no method);
- known variables have their own shapes (``$status`` three digits, ``$time_local``,
  ``$time_iso8601``, byte counts, times, comma/colon-separated upstream lists);
- any other unquoted variable is one space-free token.

Speed matters here (5M lines per incident is normal): polars runs a *one-pass* pattern
(each byte has one way forward) ~2x faster than one with ambiguous optional groups, so
``combined`` is tried first in strict spellings (``Layout.variants``; the one fitting a
chunk's first lines parses the chunk), and the tolerant patterns only see the rest.

``combined`` (the default) is nginx's/Apache's combined layout made tolerant of what real
servers write (see :func:`combined_layout`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

__all__ = [
    "COMBINED",
    "Layout",
    "combined_layout",
    "compile_log_format",
    "extract_fields",
    "layout_for",
]

COMBINED = '$remote_addr $remote_ident $remote_user [$time_local] "$request" $status $body_bytes_sent'

_QUOTED = r'(?:[^"\\]|\\.)*'
_NUMBER = r"[0-9]+(?:\.[0-9]+)?|-"
_LIST_SEP = r"(?:, | : )"
_TOKEN = r"[^ \r\n]*"
_TIMES = rf"(?:{_NUMBER})(?:{_LIST_SEP}(?:{_NUMBER}))*"
_END = r"\r?\n$"  # every line keeps its "\n" (see logfiles.line_series)
_SHAPES = {
    "remote_addr": r"[^ ]+",
    "remote_ident": r"[^ ]+",
    "remote_user": r"[^ ]+",
    "time_local": r"[0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}",
    "time_iso8601": (r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:?[0-9]{2})"),
    "msec": r"[0-9]+(?:\.[0-9]+)?",
    "status": r"[0-9]{3}",
    "body_bytes_sent": r"[0-9]+|-",
    "bytes_sent": r"[0-9]+|-",
    "request_length": r"[0-9]+|-",
    "request_time": _NUMBER,
    "upstream_response_time": _TIMES,
    "upstream_connect_time": _TIMES,
    "upstream_header_time": _TIMES,
    "upstream_addr": rf"[^ ,]+(?:{_LIST_SEP}[^ ,]+)*",
    "upstream_status": rf"(?:[0-9]{{3}}|-)(?:{_LIST_SEP}(?:[0-9]{{3}}|-))*",
}
_REQUEST_SPLIT = (
    r'(?P<req_method>[A-Z][A-Z_-]*) (?P<req_target>[^ "\\]+) '
    r"(?P<req_protocol>HTTP/[0-9](?:\.[0-9])?)"
)
_UNCAPTURED = {"remote_ident"}  # matched but never used: a group costs time per line
_VARIABLE = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")
_CONF = re.compile(r"^\s*log_format\s+\S+\s+(?:escape=\S+\s+)?(?P<body>.*?);?\s*$", re.S)
_CONF_STRING = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")


@dataclass(frozen=True)
class Layout:
    """A compiled access-log layout: one anchored pattern and the variables it captures."""

    name: str
    pattern: str
    variables: tuple[str, ...]
    #: a group that takes part in every match (None when the line does not match)
    key: str = ""
    #: tried on the lines *pattern* misses (same group names plus ``lead``)
    fallback: str | None = None
    #: validates and splits the ``tail`` group (combined's optional trailing fields)
    tail: str | None = None
    #: strict one-pass spellings of the layout; the one that fits a chunk's first lines
    #: parses the chunk, the general patterns above only see the lines it rejects
    variants: tuple[str, ...] = ()


def _strip_conf(fmt: str) -> str:
    """Accept a pasted ``log_format name [escape=…] '…' '…';`` directive as well."""
    match = _CONF.match(fmt)
    if not match:
        return fmt
    parts = _CONF_STRING.findall(match["body"])
    return "".join(a or b for a, b in parts) if parts else fmt


def _translate(fmt: str, seen: set[str], *, split: bool = True) -> tuple[str, list[str]]:
    """Regex for *fmt* (no anchors) and the variables it captures, in order.

    With *split*, a quoted ``$request`` is matched only in its ordinary shape
    ``METHOD target HTTP/x`` and captured as ``req_method``/``req_target``/``req_protocol``
    (keeps the pattern one-pass, hence fast); without it, ``request`` is captured whole.
    """
    out: list[str] = []
    names: list[str] = []
    pos = 0
    for match in _VARIABLE.finditer(fmt):
        before = fmt[pos : match.start()]
        out.append(re.escape(before))
        name = match["braced"] or match["plain"]
        after = fmt[match.end() : match.end() + 1]
        quoted = before.endswith('"') and after == '"'
        if name in seen or name in _UNCAPTURED:
            # A variable logged twice is captured once (group names must be unique).
            shape = _QUOTED if quoted else _SHAPES.get(name, _TOKEN)
            out.append(f"(?:{shape})")
            pos = match.end()
            continue
        if name == "request" and quoted and split:
            out.append(_REQUEST_SPLIT)
        elif name == "request":
            out.append(f"(?P<request>{_QUOTED if quoted else '.*?'})")
        else:
            # Inside quotes anything up to the closing quote (escape=json writes "" for an
            # empty number); only timestamps keep their shape there.
            shape = _QUOTED if quoted and not name.startswith("time_") else _SHAPES.get(name, _TOKEN)
            out.append(f"(?P<{name}>{shape})")
        names.append(name)
        seen.add(name)
        pos = match.end()
    out.append(re.escape(fmt[pos:]))
    return "".join(out), names


def compile_log_format(fmt: str, *, name: str = "custom") -> Layout:
    """Translate an nginx ``log_format`` string (or a pasted directive) into a :class:`Layout`."""
    body = _strip_conf(fmt)
    if "$" not in body:
        raise ValueError(f"not an nginx log_format string (no $variables): {fmt[:80]!r}")
    regex, names = _translate(body, set())
    if not names:
        raise ValueError(f"log_format captures nothing: {fmt[:80]!r}")
    whole, _ = _translate(body, set(), split=False)
    fallback = rf"^{whole}{_END}" if whole != regex else None
    key = next(n for n in names if n not in ("request",))
    key = "req_method" if key == "request" else key
    return Layout(name, rf"^{regex}{_END}", tuple(names), key=key, fallback=fallback)


def combined_layout() -> Layout:
    """The ``combined`` layout, tolerant of what real nginx/Apache servers write.

    - ``common`` lines (no referer/user agent) are accepted;
    - after the user agent, an optional ``"$http_x_forwarded_for"`` then optional
      ``$request_time`` and ``$upstream_response_time`` numbers (captured as ``tail`` and
      checked by :attr:`Layout.tail`; an integer with no decimal point is Apache's ``%D``,
      microseconds);
    - in the fallback pattern only: a lead before the client address — a virtual host
      (``vhost1.example.com 1.2.3.4 - - [``) or an ``X-Forwarded-For`` chain written before
      ``$remote_addr`` (``10.0.0.2, 10.0.0.1, 127.0.0.1 - - [``).

    The main pattern is kept one-pass (each byte has one way forward) because polars' regex
    engine then extracts groups ~2.5x faster; the tolerant lead is not, so it only runs
    on the few lines the main pattern rejects.
    """
    seen: set[str] = set()
    core, names = _translate(COMBINED, seen)
    whole, _ = _translate(COMBINED, set(), split=False)
    agent, agent_names = _translate(' "$http_referer" "$http_user_agent"', seen)
    tail_group = r"(?P<tail> [^\r\n]*)?"
    pattern = rf"^{core}(?:{agent}{tail_group})?{_END}"
    lead = r'(?P<lead>"[^"]*" |(?:[^ "\[]+ )*?)'
    fallback = rf"^{lead}{whole}(?:{agent}{tail_group})?{_END}"
    xff, _ = _translate(' "$http_x_forwarded_for"', seen)
    tail = (
        rf"^(?P<matched>)(?:{xff})?(?: (?P<request_time>{_NUMBER}))?"
        rf"(?: (?P<upstream_response_time>{_TIMES}))? *$"
    )
    variables = (
        *names,
        *agent_names,
        "http_x_forwarded_for",
        "request_time",
        "upstream_response_time",
    )
    rt = rf" (?P<request_time>{_NUMBER})"
    urt = rf" (?P<upstream_response_time>{_TIMES})"
    suffixes = ("", rt, xff, xff + rt, rt + urt, xff + rt + urt)
    variants = tuple(rf"^{core}{agent}{suffix}{_END}" for suffix in suffixes)
    return Layout(
        "combined", pattern, variables, key="remote_addr", fallback=fallback, tail=tail,
        variants=(*variants, rf"^{core}{_END}"),
    )  # fmt: skip


def layout_for(spec: str) -> Layout:
    """``combined`` (default, also ``""`` and ``common``) or an nginx ``log_format`` string."""
    key = spec.strip().lower()
    if key in ("", "combined", "common", "main"):
        return combined_layout()
    return compile_log_format(spec)


# ---- from captured variables to the access frame's columns (polars, per chunk) ----------

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
_INTERNAL = {
    "matched",
    "lead",
    "tail",
    "remote_ident",
    "request",
    "time_local",
    "req_method",
    "req_target",
    "req_protocol",
    "time_iso8601",
    "msec",
    "status",
    "body_bytes_sent",
    "bytes_sent",
    "request_time",
    "upstream_response_time",
}


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


def extract_fields(lines: pl.Series, layout: Layout, source_file: str) -> tuple[pl.DataFrame, pl.Series]:
    """Parse a chunk of lines; return the access frame's columns and the malformed lines.

    Every line ends up in exactly one of the two results (row counts are exact).
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
    ).with_columns(stamp.alias("requested_at"), pl.lit(source_file).alias("source_file"))
    return frame, rest
