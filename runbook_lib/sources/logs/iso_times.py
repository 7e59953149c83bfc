"""ISO-8601 timestamps → epoch nanoseconds, computed from the text's bytes with numpy.

polars' ``strptime`` costs about a microsecond a value and wants one layout; log times
vary (``T`` or space, ``.`` or ``,`` fractions, ``Z``, ``+01:00``, ``+0100`` or none).
Here the first 20 bytes and the last 6 bytes of every string are gathered from the Arrow
buffer in two numpy takes, the layout is checked byte by byte, and the fields are read
from fixed offsets. Values of another shape (blanks around them, more than nine fraction
digits, ``2026/11/27``) or with an impossible date (February 30th, hour 24, second 60 —
which pandas refuses too) come back null for the caller's slower path.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

__all__ = ["iso_times"]

_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
_ZERO, _PLUS, _MINUS, _COLON, _SPACE = ord("0"), ord("+"), ord("-"), ord(":"), ord(" ")


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days: np.ndarray = era * 146097 + doe - 719468
    return days


def _buffers(values: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bytes padded with zeros, start offsets, end offsets) of a String series."""
    arr = values.to_arrow(compat_level=pl.CompatLevel.oldest())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.cast(pa.large_string())
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    raw = arr.buffers()[2]
    data = np.frombuffer(raw, dtype=np.uint8) if raw is not None else np.zeros(0, dtype=np.uint8)
    return np.concatenate([np.zeros(8, np.uint8), data, np.zeros(40, np.uint8)]), offsets[:-1] + 8, offsets[1:] + 8


def _positions(data: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Bytes 0..19 and the last 6 bytes of every string, one array per position.

    A log's times usually all have the same length: then the buffer is an (n, width)
    matrix and every position is a zero-copy column. Otherwise one gather per position.
    """
    n = len(start)
    width = int(end[0] - start[0]) if n else 0
    if n and width >= 20 and bool((end - start == width).all()):
        block = data[int(start[0]) : int(start[0]) + n * width].reshape(n, width)
        return [block[:, k] for k in range(20)], [block[:, width - 6 + k] for k in range(6)]
    return [data[start + k] for k in range(20)], [data[np.maximum(end - 6 + k, 0)] for k in range(6)]


def iso_times(values: pl.Series) -> pl.Series:
    """ISO-8601 strings → Datetime(ns, UTC); null for another shape or an impossible date."""
    data, start, end = _buffers(values)
    length = end - start
    byte, tail = _positions(data, start, end)
    d = [b - np.uint8(_ZERO) for b in byte]  # digits 0..9; anything else wraps above 9
    ok = (length >= 19) & values.is_not_null().to_numpy()
    for k in _DIGITS:
        ok &= d[k] <= 9
    ok &= (byte[4] == _MINUS) & (byte[7] == _MINUS) & (byte[13] == _COLON) & (byte[16] == _COLON)
    ok &= (byte[10] == ord("T")) | (byte[10] == ord("t")) | (byte[10] == _SPACE)

    def num(first: int, width: int) -> np.ndarray:
        out = d[first].astype(np.int64)
        for k in range(first + 1, first + width):
            out = out * 10 + d[k]
        return out

    year, month, day = num(0, 4), num(5, 2), num(8, 2)
    hour, minute, second = num(11, 2), num(14, 2), num(17, 2)
    # The zone, read from the end: Z, +HH:MM or +HHMM.
    zulu = (tail[5] == ord("Z")) | (tail[5] == ord("z"))
    colon = ((tail[0] == _PLUS) | (tail[0] == _MINUS)) & (tail[3] == _COLON) & (length >= 25)
    compact = ~colon & ((tail[1] == _PLUS) | (tail[1] == _MINUS)) & (length >= 24)
    t = [(b - np.uint8(_ZERO)).astype(np.int64) for b in tail]  # digits 0..9; else above 9
    zone_h = np.where(colon, t[1] * 10 + t[2], t[2] * 10 + t[3])
    zone_m = t[4] * 10 + t[5]
    zoned = colon | compact
    zone_digits = ~colon | ((t[1] <= 9) & (t[2] <= 9) & (t[4] <= 9) & (t[5] <= 9))
    zone_digits &= ~compact | ((t[2] <= 9) & (t[3] <= 9) & (t[4] <= 9) & (t[5] <= 9))
    sign = np.where(np.where(colon, tail[0], tail[1]) == _MINUS, -1, 1)
    offset_s = np.where(zoned, sign * (zone_h * 3600 + zone_m * 60), 0)
    zone_len = np.where(zulu, 1, np.where(colon, 6, np.where(compact, 5, 0)))
    body = length - zone_len  # bytes before the zone
    if (body > 19).any():  # " +01:00": one blank before the zone
        blank = (body > 19) & zoned & (data[np.maximum(start + body - 1, 0)] == _SPACE)
        body = body - blank
    # The fraction: [.,] then 1-9 digits, up to the zone.
    digits = np.where(body > 19, body - 20, 0)
    has_frac = body > 19
    ok &= ~has_frac | (((byte[19] == ord(".")) | (byte[19] == ord(","))) & (digits >= 1) & (digits <= 9))
    ok &= (body == 19) | has_frac
    ok &= zone_digits
    frac = np.zeros(len(start), dtype=np.int64)
    for k in range(min(int(digits.max(initial=0)), 9)):  # usually 3, 6 or 9 passes
        digit = data[start + 20 + k] - np.uint8(_ZERO)
        inside = k < digits
        ok &= ~inside | (digit <= 9)
        frac += np.where(inside, digit.astype(np.int64) * 10 ** (8 - k), 0)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _DAYS[np.clip(month - 1, 0, 11)] + ((month == 2) & leap)
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    ok &= (hour < 24) & (minute < 60) & (second < 60)
    ok &= (year > 1677) & (year < 2262)  # what datetime64[ns] holds
    seconds = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset_s
    ns = np.where(ok, seconds * 1_000_000_000 + frac, 0)
    out = pl.Series(values.name, ns, dtype=pl.Int64).zip_with(pl.Series(ok), pl.Series([None], dtype=pl.Int64))
    return out.cast(pl.Datetime("ns", "UTC"))
