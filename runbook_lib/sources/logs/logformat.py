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

from runbook_lib.errors import ParameterError

__all__ = [
    "COMBINED",
    "Layout",
    "combined_layout",
    "compile_log_format",
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
        raise ParameterError(f"not an nginx log_format string (no $variables): {fmt[:80]!r}", key="access_log_format")
    regex, names = _translate(body, set())
    if not names:
        raise ParameterError(f"log_format captures nothing: {fmt[:80]!r}", key="access_log_format")
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
    variables = (*names, *agent_names, "http_x_forwarded_for", "request_time", "upstream_response_time")
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
