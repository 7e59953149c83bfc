"""Translate a PostgreSQL ``log_line_prefix`` into one regular expression.

Why a translator and not a fixed pattern: every site sets its own prefix, and a parser
that guesses wrong silently reports nothing (pgBadger's most reported problem). We compile
exactly the prefix the server was configured with, and when it matches too few lines we
say so and try a few common prefixes to suggest the right one.

The pattern is written in the common subset of Python ``re`` and Rust ``regex`` (no
look-around, no back-references), so the same text runs in polars (Rust) for speed and
in ``re`` for the small checks. Named groups, when the escape is in the prefix:
``ts`` (%m %t %s: date and time with the zone abbreviation), ``epoch`` (%n), ``pid`` (%p),
``user`` (%u), ``database`` (%d), ``application_name`` (%a), ``client_addr`` (%h %r),
``session_id`` (%c), ``sqlstate`` (%e), then always ``severity``; ``head`` spans the whole
prefix plus ``SEVERITY:  `` so the message is the rest of the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

#: Levels PostgreSQL writes (lc_messages = C). DETAIL… lines belong to the record before them.
PRIMARY_SEVERITIES = (
    "LOG", "ERROR", "FATAL", "PANIC", "WARNING", "NOTICE", "INFO",
    "DEBUG1", "DEBUG2", "DEBUG3", "DEBUG4", "DEBUG5",
)  # fmt: skip
SECONDARY_SEVERITIES = ("DETAIL", "HINT", "CONTEXT", "STATEMENT", "QUERY", "LOCATION")

_DATE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
_ZONE = r"(?: (?:[A-Za-z]{1,6}|[+-]\d\d(?::?\d\d)?))?"
_TS_MS = _DATE + r"\.\d+" + _ZONE
_TS_S = _DATE + _ZONE
_FREE = r".*?"  # free text (names, hosts): lazy, the following literal anchors it

#: escape -> (group name or "", value pattern). Unknown escapes print nothing (as in PG).
_ESCAPES: dict[str, tuple[str, str]] = {
    "m": ("ts", _TS_MS),
    "t": ("ts", _TS_S),
    "n": ("epoch", r"\d+(?:\.\d+)?"),
    "s": ("", _TS_S),
    "p": ("pid", r"\d+"),
    "P": ("", r"\d*"),
    "u": ("user", _FREE),
    "d": ("database", _FREE),
    "a": ("application_name", _FREE),
    "h": ("client_addr", _FREE),
    "r": ("client_addr", r"[^\s(]*?(?:\(\d+\))?"),
    "L": ("", _FREE),
    "b": ("", _FREE),
    "c": ("session_id", r"[0-9a-f]+\.[0-9a-f]+"),
    "l": ("", r"\d+"),
    "v": ("", r"\S*?"),
    "x": ("", r"\d*"),
    "e": ("sqlstate", r"[0-9A-Z]{5}"),
    "i": ("", _FREE),
    "Q": ("", r"-?\d*"),
}

_SEVERITY = "(?P<severity>" + "|".join((*PRIMARY_SEVERITIES, *SECONDARY_SEVERITIES)) + ")"

#: Prefixes seen in the wild (Debian default, pgBadger docs, RDS, Azure, our samples), tried when
#: the configured one fails, to suggest the right setting.
COMMON_PREFIXES: tuple[str, ...] = (
    "%m [%p] ",
    "%m [%p] %q%u@%d ",
    "%m [%p] %q%u@%d/%a ",
    "%t [%p] ",
    "%t [%p]: ",
    "%t [%p]: [%l-1] ",
    "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    "%t [%p]: [%l-1] user=%u,db=%d ",
    "%t [%p]: [%l-1] user=%u,db=%d,host=%h,app=%a ",
    "%m [%p]: [%l-1] user=%u,db=%d,host=%h,app=%a ",
    "%m [%p] [queryid=%Q] %q%u@%d ",
    "%t [%p]: db=%d,user=%u,app=%a,client=%h ",
    "%t [%p]: [%l-1] [%x] usr=%u,db=%d,appli=%a ",
    "%m [%p] user=%u,db=%d ",
    "%t:%r:%u@%d:[%p]:",
    "%t-%c-",  # Azure Database for PostgreSQL (flexible server) default
    "%m %u %d [%p] ",
    "%m [%p] %u@%d ",
    "< %m > ",
)


@dataclass(frozen=True)
class PrefixPattern:
    """A compiled ``log_line_prefix``: the regex text, its groups, and escapes we ignored."""

    prefix: str
    pattern: str
    groups: tuple[str, ...]
    ignored: tuple[str, ...] = field(default=())
    #: A faster variant with the same groups (:func:`strict_pattern`); "" when there is none.
    strict: str = ""

    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern)


def _tokens(prefix: str) -> list[tuple[str, str]]:
    """Split a prefix into ("lit", text) / ("esc", letter) / ("q", "") tokens."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(prefix):
        ch = prefix[i]
        if ch == "%" and i + 1 < len(prefix):
            j = i + 1
            while j < len(prefix) and (prefix[j].isdigit() or prefix[j] == "-"):
                j += 1  # padding such as %-10u: the value is space-padded
            if j >= len(prefix):
                out.append(("lit", prefix[i:]))
                break
            letter = prefix[j]
            if letter == "%":
                out.append(("lit", "%"))
            elif letter == "q":
                out.append(("q", ""))
            else:
                out.append(("esc" if j == i + 1 else "pad", letter))
            i = j + 1
        else:
            out.append(("lit", ch))
            i += 1
    return out


def translate_prefix(prefix: str) -> PrefixPattern:
    """Compile *prefix* (``log_line_prefix`` as in postgresql.conf) into a pattern."""
    parts: list[str] = []
    groups: list[str] = []
    ignored: list[str] = []
    items: list[tuple[str, str, str]] = []  # (space | lit | esc | pad, value, group): for the strict variant
    optional_from: int | None = None
    last_space = False
    for kind, value in _tokens(prefix):
        if kind == "q":
            optional_from = len(parts)
            continue
        if kind == "lit":
            if value.isspace():
                if not last_space:
                    parts.append(" +")
                    items.append(("space", "", ""))
                items[-1] = ("space", items[-1][1] + " ", "")  # the strict variant wants as many as printed
                last_space = True
                continue
            parts.append(re.escape(value))
            items.append(("lit", value, ""))
            last_space = False
            continue
        if value not in _ESCAPES:
            ignored.append("%" + value)
            continue  # PostgreSQL prints nothing for an unknown escape
        name, body = _ESCAPES[value]
        if name and name not in groups:
            groups.append(name)
            piece = f"(?P<{name}>{body})"
            items.append((kind, value, name))
        else:
            piece = f"(?:{body})"
            items.append((kind, value, ""))
        if kind == "pad":
            piece = f" *{piece} *"
        parts.append(piece)
        last_space = False
    if optional_from is not None:
        tail = "".join(parts[optional_from:])
        parts = [*parts[:optional_from], f"(?:{tail})?"] if tail else parts[:optional_from]
    body = "".join(parts)
    # Between the prefix and the level PostgreSQL writes nothing, but a prefix without a
    # trailing space (or an ignored escape) must still match: allow optional spaces.
    pattern = f"^(?P<head>{body} *{_SEVERITY}: +)"
    return PrefixPattern(prefix, pattern, (*groups, "severity"), tuple(ignored), strict_pattern(items))


_S_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"
_S_ZONE = r" (?:[A-Za-z]{1,6}|[+-][0-9]{2}(?::?[0-9]{2})?)"
_FREE_ESCAPES = frozenset("udahLbi")
_DIGIT = re.compile(r"\d")


def _strict_body(letter: str, after: tuple[str, str, str]) -> str | None:
    """The strict body of escape *letter* followed by *after*; None when it has none."""
    kind, value, _ = after
    lit = value if kind == "lit" else ""  # the literal character that follows, if any
    if letter in "mts":  # the zone required; its letters must not run into what follows
        if not (kind == "space" or (lit and not lit.isalpha() and lit not in "+-:" and not _DIGIT.match(lit))):
            return None
        return _S_DATE + (r"\.[0-9]+" if letter == "m" else "") + _S_ZONE
    if letter in "pln":  # digits up to a non-digit (ASCII digits: the next element rejects others)
        if not (kind in ("space", "end") or (lit and not _DIGIT.match(lit) and not (letter == "n" and lit == "."))):
            return None
        return "[0-9]+(?:\\.[0-9]+)?" if letter == "n" else "[0-9]+"
    if letter in _FREE_ESCAPES:  # lazy .*? up to the next literal: the text up to its first occurrence
        if kind == "space":
            return "[^ ]+"
        if lit:
            return "[^" + ("\\" + lit if lit in "\\]^-[&~" else lit) + " ]*"
        return None
    if letter == "e":
        return _ESCAPES["e"][1]
    if letter == "c" and (kind in ("space", "end") or (lit and lit not in "0123456789abcdef.")):
        return _ESCAPES["c"][1]
    if letter in "PxQ" and lit and not lit.isspace() and not _DIGIT.match(lit) and lit != "-":
        return _ESCAPES[letter][1]
    return None


def strict_pattern(items: Sequence[tuple[str, str, str]]) -> str:
    """A variant of the prefix pattern that is deterministic, so polars captures it about twice as fast.

    Why it gives the same groups on every line it matches: it follows the general pattern's
    first-choice path — a ``%q`` part required, one space where ``" +"`` allows several, a
    free field (``%u``, ``%d``…) running to the first occurrence of the literal after it, the
    zone required — and every element is one that cannot start where its neighbour could
    also go on, so where the general pattern would prefer another path the strict one fails
    (and the line is captured by the general pattern). "" when the prefix has an element
    this cannot be said of (padding, ``%r``, ``%v``, two free fields side by side…).
    """
    out: list[str] = []
    ends_with_space = bool(items) and items[-1][0] == "space"
    for k, (kind, value, name) in enumerate(items):
        after = items[k + 1] if k + 1 < len(items) else ("end", "", "")
        if kind == "space":
            out.append(value)  # what follows cannot start with a space (checked by its body)
        elif kind == "lit":
            out.append(re.escape(value))
        elif kind == "pad":
            return ""
        else:
            body = _strict_body(value, after)
            if body is None:
                return ""
            out.append(f"(?P<{name}>{body})" if name else f"(?:{body})")
    return f"^(?P<head>{''.join(out)}{'' if ends_with_space else ' *'}{_SEVERITY}: +)"


def match_ratio(prefix: str, lines: Sequence[str]) -> float:
    """Share of *lines* (candidate record lines) that *prefix* matches."""
    if not lines:
        return 0.0
    rx = translate_prefix(prefix).compiled()
    return sum(1 for line in lines if rx.match(line)) / len(lines)


def suggest_prefix(
    lines: Sequence[str], *, candidates: Iterable[str] = COMMON_PREFIXES, threshold: float = 0.5
) -> tuple[str, float] | None:
    """The common prefix that matches most of *lines* (at least *threshold*), if any."""
    best: tuple[str, float] | None = None
    for prefix in candidates:
        ratio = match_ratio(prefix, lines)
        # on a tie the longer prefix wins: it reads more fields (user, database, app)
        if ratio >= threshold and (best is None or (ratio, len(prefix)) > (best[1], len(best[0]))):
            best = (prefix, ratio)
    return best


#: Zone abbreviations PostgreSQL prints with %m/%t -> offset from UTC in hours. Ambiguous
#: ones (CST, IST) take the most common meaning; numeric zones ("+03", "-0530") are exact.
ZONE_OFFSETS_H: dict[str, float] = {
    "UTC": 0, "GMT": 0, "Z": 0, "UT": 0, "WET": 0, "WEST": 1, "BST": 1,
    "CET": 1, "CEST": 2, "MET": 1, "MEST": 2, "EET": 2, "EEST": 3, "MSK": 3,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    "AKST": -9, "AKDT": -8, "HST": -10, "AST": -4, "ADT": -3, "NST": -3.5, "NDT": -2.5,
    "IST": 5.5, "JST": 9, "KST": 9, "HKT": 8, "SGT": 8, "AWST": 8,
    "ACST": 9.5, "ACDT": 10.5, "AEST": 10, "AEDT": 11, "NZST": 12, "NZDT": 13,
}  # fmt: skip

_NUMERIC_ZONE = re.compile(r"^([+-])(\d\d):?(\d\d)?$")


def zone_offset_s(zone: str | None) -> float | None:
    """Seconds east of UTC for a zone as PostgreSQL prints it; None when unknown."""
    if zone is None or zone == "":
        return 0.0
    if zone in ZONE_OFFSETS_H:
        return ZONE_OFFSETS_H[zone] * 3600.0
    m = _NUMERIC_ZONE.match(zone)
    if m:
        sign = -1.0 if m[1] == "-" else 1.0
        return sign * (int(m[2]) * 3600 + int(m[3] or 0) * 60)
    return None
