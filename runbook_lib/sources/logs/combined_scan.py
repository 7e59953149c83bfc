"""A compiled scanner for ordinary ``combined`` lines: the access reader's fast path.

Why: polars' regex capture costs ~900 ns a line, most of the reader's time (issue 13), and
almost every line of a real nginx log has the one ordinary shape. This scanner (numba, one
pass over the chunk's bytes, GIL released) cuts and converts those lines itself and hands
every other line to the regex path, which stays the definition of the layout.

The rule that keeps it exact: the scanner *accepts* a line only when the regex path would
match it and produce the same values; anything unusual is *rejected* and parsed by the
regex as before. Accepted are lines of pure ASCII of the shape::

    addr ident user [dd/Mon/yyyy:HH:MM:SS +hhmm] "METHOD target HTTP/x[.y]" status bytes
        [ "referer" "agent" [ "x-forwarded-for"] [ request_time [ upstream_time]] spaces]

with a real calendar time, numbers of at most 15 digits and at most one upstream attempt.
Rejected (hence parsed by regex) are, for example: any byte >= 0x80, a request that does
not split (``"-"``, binary), lists of upstream attempts, leap seconds, lowercase months.
``tests/sources/logs/test_combined_scan.py`` compares both paths line by line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

__all__ = ["ACCEPTED", "TEXT_FIELDS", "Scanned", "gather_text", "scan_combined", "warm_up"]

#: The text columns the scanner cuts, in the order of its span array.
TEXT_FIELDS = ("client_ip", "remote_user", "method", "path", "protocol", "referer", "user_agent", "forwarded_for")
ACCEPTED, REJECTED = 1, 2
_SPACE, _QUOTE, _BACKSLASH, _DASH = 32, 34, 92, 45
_POW10 = np.array([10.0**k for k in range(23)])  # exact doubles: m / 10**k rounds correctly
_MONTHS = np.frombuffer(b"JanFebMarAprMayJunJulAugSepOctNovDec", dtype=np.uint8)
_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_MAX_DIGITS = 15  # below 2**53: the integer and the division are exact


@njit(cache=True, nogil=True)
def _token(buf, i, e):  # type: ignore[no-untyped-def]
    """End of a non-empty run of non-space bytes starting at *i* (-1 if none, or no space)."""
    j = i
    while j < e and buf[j] != _SPACE:
        j += 1
    return j if (j > i and j < e) else -1


@njit(cache=True, nogil=True)
def _quoted(buf, i, e):  # type: ignore[no-untyped-def]
    """Index of the closing quote of a field opened before *i* (backslash escapes), or -1."""
    j = i
    while j < e:
        c = buf[j]
        if c == _QUOTE:
            return j
        if c == _BACKSLASH:
            j += 1
            if j >= e:
                return -1
        j += 1
    return -1


@njit(cache=True, nogil=True)
def _digits(buf, i, n):  # type: ignore[no-untyped-def]
    """Value of the *n* ASCII digits at *i*, or -1."""
    v = 0
    for k in range(i, i + n):
        d = buf[k] - 48
        if d < 0 or d > 9:
            return -1
        v = v * 10 + d
    return v


@njit(cache=True, nogil=True)
def _number(buf, i, e):  # type: ignore[no-untyped-def]
    """``[0-9]+(\\.[0-9]+)?`` at *i*: (end, mantissa, fraction digits, has point); end -1 if none."""
    j, m, n = i, 0, 0
    while j < e and 48 <= buf[j] <= 57:
        m = m * 10 + (buf[j] - 48)
        j += 1
    n = j - i
    if n == 0:
        return -1, 0, 0, False
    if j + 1 < e and buf[j] == 46 and 48 <= buf[j + 1] <= 57:
        k = j + 1
        while k < e and 48 <= buf[k] <= 57:
            m = m * 10 + (buf[k] - 48)
            k += 1
        if n + (k - j - 1) > _MAX_DIGITS:
            return -1, 0, 0, False
        return k, m, k - j - 1, True
    if n > _MAX_DIGITS:
        return -1, 0, 0, False
    return j, m, 0, False


@njit(cache=True, nogil=True)
def _epoch_ns(buf, i):  # type: ignore[no-untyped-def]
    """``dd/Mon/yyyy:HH:MM:SS +hhmm`` at *i* as UTC nanoseconds, or -1 when not a real time."""
    day, year = _digits(buf, i, 2), _digits(buf, i + 7, 4)
    hour, minute, sec = _digits(buf, i + 12, 2), _digits(buf, i + 15, 2), _digits(buf, i + 18, 2)
    off_h, off_m = _digits(buf, i + 22, 2), _digits(buf, i + 24, 2)
    sign = buf[i + 21]
    if buf[i + 2] != 47 or buf[i + 6] != 47 or buf[i + 11] != 58 or buf[i + 14] != 58 or buf[i + 17] != 58:
        return -1
    if buf[i + 20] != _SPACE or (sign != 43 and sign != _DASH):
        return -1
    month = -1
    for k in range(12):
        if buf[i + 3] == _MONTHS[3 * k] and buf[i + 4] == _MONTHS[3 * k + 1] and buf[i + 5] == _MONTHS[3 * k + 2]:
            month = k + 1
    if min(day, year, hour, minute, sec, off_h, off_m) < 0 or month < 0 or year < 1970:
        return -1
    leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
    days_in = _DAYS[month - 1] + (1 if (month == 2 and leap) else 0)
    if day < 1 or day > days_in or hour > 23 or minute > 59 or sec > 59 or off_h > 23 or off_m > 59:
        return -1
    # days from civil (H. Hinnant's algorithm), then seconds, minus the zone offset
    y = year - (1 if month <= 2 else 0)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    offset = (off_h * 3600 + off_m * 60) * (1 if sign == 43 else -1)
    return (days * 86400 + hour * 3600 + minute * 60 + sec - offset) * 1_000_000_000


@njit(cache=True, nogil=True)
def _dash_empty(buf, spans, row, f):  # type: ignore[no-untyped-def]
    if spans[row, f, 1] - spans[row, f, 0] == 1 and buf[spans[row, f, 0]] == _DASH:
        spans[row, f, 1] = spans[row, f, 0]


@njit(cache=True, nogil=True)
def _seconds(buf, i, e, micro, out):  # type: ignore[no-untyped-def]
    """A ``$request_time``-like number or ``-`` at *i* into out[0]; its end, or -1."""
    if buf[i] == _DASH:
        out[0] = np.nan
        return i + 1
    j, m, k, point = _number(buf, i, e)
    if j < 0:
        return -1
    out[0] = m / _POW10[k] if point else (m / 1e6 if micro else float(m))
    return j


@njit(cache=True, nogil=True)
def _tail(buf, i, e, spans, row, seconds):  # type: ignore[no-untyped-def]
    """After the agent: optional ``"xff"``, request time, one upstream time, spaces."""
    if i + 1 < e and buf[i] == _SPACE and buf[i + 1] == _QUOTE:
        j = _quoted(buf, i + 2, e)
        if j < 0:
            return False
        spans[row, 7, 0], spans[row, 7, 1] = i + 2, j
        _dash_empty(buf, spans, row, 7)
        i = j + 1
    for slot in range(2):
        if i + 1 < e and buf[i] == _SPACE and buf[i + 1] != _SPACE:
            j = _seconds(buf, i + 1, e, slot == 0, seconds[row, slot:])
            if j < 0:
                return False
            i = j
    while i < e and buf[i] == _SPACE:
        i += 1
    return i == e


@njit(cache=True, nogil=True)
def _line(buf, s, e, spans, ints, seconds, times, row):  # type: ignore[no-untyped-def]
    """Cut line ``buf[s:e]`` (pure ASCII, no newline) into row *row*; False if the regex must see it."""
    a = _token(buf, s, e)
    b = _token(buf, a + 1, e) if a >= 0 else -1
    u = _token(buf, b + 1, e) if b >= 0 else -1
    if u < 0 or u + 29 > e or buf[u + 1] != 91 or buf[u + 28] != 93:
        return False
    t = _epoch_ns(buf, u + 2)
    if u + 31 > e or t < 0 or buf[u + 29] != _SPACE or buf[u + 30] != _QUOTE:
        return False
    spans[row, 0, 0], spans[row, 0, 1] = s, a
    spans[row, 1, 0], spans[row, 1, 1] = b + 1, u
    _dash_empty(buf, spans, row, 1)
    times[row] = t
    i = u + 31  # the method
    j = i
    while j < e and (65 <= buf[j] <= 90 or ((buf[j] == 95 or buf[j] == _DASH) and j > i)):
        j += 1
    if j == i or j >= e or buf[j] != _SPACE:
        return False
    spans[row, 2, 0], spans[row, 2, 1] = i, j
    i = j = j + 1  # the target: [^ "\\]+
    while j < e and buf[j] != _SPACE and buf[j] != _QUOTE and buf[j] != _BACKSLASH:
        j += 1
    if j == i or j + 7 > e or buf[j] != _SPACE:
        return False
    spans[row, 3, 0], spans[row, 3, 1] = i, j
    i = j + 1  # HTTP/d[.d]"
    if not (buf[i] == 72 and buf[i + 1] == 84 and buf[i + 2] == 84 and buf[i + 3] == 80 and buf[i + 4] == 47):
        return False
    if not 48 <= buf[i + 5] <= 57:
        return False
    j = i + 6
    if j + 1 < e and buf[j] == 46 and 48 <= buf[j + 1] <= 57:
        j += 2
    if j + 6 > e or buf[j] != _QUOTE or buf[j + 1] != _SPACE:
        return False
    spans[row, 4, 0], spans[row, 4, 1] = i, j
    status = _digits(buf, j + 2, 3)
    if status < 0 or buf[j + 5] != _SPACE:
        return False
    ints[row, 0] = status
    i = j + 6  # body bytes: [0-9]+ or -
    if i < e and buf[i] == _DASH:
        ints[row, 1], i = 0, i + 1
    else:
        i, m, _, point = _number(buf, i, e)
        if i < 0 or point:
            return False
        ints[row, 1] = m
    if i == e:
        return True  # common: no referer / agent
    if i + 2 >= e or buf[i] != _SPACE or buf[i + 1] != _QUOTE:
        return False
    j = _quoted(buf, i + 2, e)
    if j < 0 or j + 3 >= e or buf[j + 1] != _SPACE or buf[j + 2] != _QUOTE:
        return False
    spans[row, 5, 0], spans[row, 5, 1] = i + 2, j
    k = _quoted(buf, j + 3, e)
    if k < 0:
        return False
    spans[row, 6, 0], spans[row, 6, 1] = j + 3, k
    _dash_empty(buf, spans, row, 5)
    _dash_empty(buf, spans, row, 6)
    return _tail(buf, k + 1, e, spans, row, seconds)


@njit(cache=True, nogil=True)
def _scan(buf, ends, odd):  # type: ignore[no-untyped-def]
    n = 0
    start = 0
    for k in range(ends.shape[0]):
        n += 1 if ends[k] > start else 0
        start = ends[k] + 1
    state = np.zeros(n, dtype=np.uint8)
    lines = np.zeros((n, 2), dtype=np.int64)
    spans = np.zeros((n, 8, 2), dtype=np.int64)
    ints = np.zeros((n, 2), dtype=np.int64)
    seconds = np.full((n, 2), np.nan)
    times = np.zeros(n, dtype=np.int64)
    row = 0
    s = 0
    for k in range(ends.shape[0]):
        e = ends[k]
        if e > s:  # a lone "\n" is a blank line, not a record
            end = e - 1 if buf[e - 1] == 13 else e
            ok = not odd[k] and _line(buf, s, end, spans, ints, seconds, times, row)
            state[row] = ACCEPTED if ok else REJECTED
            lines[row, 0], lines[row, 1] = s, e
            row += 1
        s = e + 1
    return state, lines, spans, ints, seconds, times


@dataclass
class Scanned:
    """One chunk scanned: one entry per non-blank line, in order. Only the accepted rows'
    values are meaningful."""

    state: np.ndarray  #: ACCEPTED / REJECTED
    lines: np.ndarray  #: start of the line and index of its "\n" (or the chunk's end)
    spans: np.ndarray  #: rows × TEXT_FIELDS × (start, end) into the chunk; "-" cut to empty
    ints: np.ndarray  #: status, body bytes
    seconds: np.ndarray  #: request time, upstream time (NaN when absent)
    times: np.ndarray  #: UTC nanoseconds


def scan_combined(buf: np.ndarray) -> Scanned:
    """Scan a chunk's bytes (uint8). Line ends and non-ASCII bytes are found by numpy
    first: a byte loop in the scanner cost ~1 ns a byte, numpy's compare ~0.05."""
    ends = np.flatnonzero(buf == 10)
    if not buf.size or buf[-1] != 10:
        ends = np.append(ends, buf.size)
    odd = np.zeros(len(ends), dtype=np.bool_)
    odd[np.searchsorted(ends, np.flatnonzero(buf >= 0x80))] = True
    return Scanned(*_scan(buf, ends, odd))


@njit(cache=True, nogil=True)
def _gather(buf, rows, spans):  # type: ignore[no-untyped-def]
    n = rows.shape[0]
    fields = spans.shape[1]
    offsets = np.empty((fields, n + 1), dtype=np.int64)
    for f in range(fields):
        offsets[f, 0] = 0
        for r in range(n):
            offsets[f, r + 1] = offsets[f, r] + (spans[rows[r], f, 1] - spans[rows[r], f, 0])
    data = np.empty(offsets[:, n].sum(), dtype=np.uint8)
    o = 0
    for f in range(fields):
        for r in range(n):
            for b in range(spans[rows[r], f, 0], spans[rows[r], f, 1]):
                data[o] = buf[b]
                o += 1
    return offsets, data


def gather_text(buf: np.ndarray, rows: np.ndarray, spans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Arrow ``large_string`` buffers of every text field of *rows*: offsets (fields × rows+1,
    each field's starting at 0) and all fields' bytes, one field after the other."""
    return _gather(buf, rows, spans)  # type: ignore[no-any-return]


def warm_up() -> None:
    """Compile (or load from numba's on-disk cache) every kernel, on a line of each kind."""
    sample = (
        b'192.0.2.1 - - [20/Nov/2026:10:00:00 +0000] "GET /a?b=1 HTTP/1.1" 200 5 "-" "curl/8" "-" 0.010 0.009\n'
        b"junk\r\n\n"
    )
    buf = np.frombuffer(sample, dtype=np.uint8)
    scanned = scan_combined(buf)
    gather_text(buf, np.flatnonzero(scanned.state == ACCEPTED), scanned.spans)


if __name__ == "__main__":  # python -m runbook_lib.sources.logs.combined_scan: compile at install
    warm_up()
