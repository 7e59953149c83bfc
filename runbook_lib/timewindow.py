"""The incident window: parse ``start``/``end`` parameters in exactly one place.

Accepted forms: ISO-8601 (UTC when no offset is given), ``now``, and relative offsets
from now such as ``-2h``, ``-90m``, ``-1d``, ``-30s``. An empty ``start`` means two hours
before ``end``; an empty ``end`` means now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from runbook_lib.errors import ParameterError

__all__ = [
    "DEFAULT_SPAN",
    "Window",
    "parse_time",
    "parse_window",
    "utc_now",
]

DEFAULT_SPAN = pd.Timedelta(hours=2)
_RELATIVE = re.compile(r"^\s*(?P<sign>[-+])\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def utc_now() -> pd.Timestamp:
    """The current time as a tz-aware UTC timestamp (one place to read the clock)."""
    return pd.Timestamp.now(tz="UTC")


def parse_time(value: str, *, now: pd.Timestamp | None = None, key: str = "time") -> pd.Timestamp:
    """Parse one time parameter into a tz-aware UTC timestamp."""
    now = utc_now() if now is None else now
    text = str(value).strip()
    if text.lower() == "now":
        return now
    match = _RELATIVE.match(text)
    if match:
        delta = pd.Timedelta(seconds=float(match["n"]) * _UNIT_SECONDS[match["unit"]])
        return now - delta if match["sign"] == "-" else now + delta
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError) as err:
        raise ParameterError(f"cannot read {text!r} as a time (use ISO-8601, 'now' or '-2h')", key=key) from err
    if pd.isna(stamp):
        raise ParameterError(f"cannot read {text!r} as a time", key=key)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


@dataclass(frozen=True)
class Window:
    """A closed-open time interval ``[start, end)`` in UTC."""

    start: pd.Timestamp
    end: pd.Timestamp

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ParameterError(
                f"the window ends ({self.end.isoformat()}) before it starts ({self.start.isoformat()})",
                key="end",
            )

    @property
    def duration(self) -> pd.Timedelta:
        return self.end - self.start

    def widen(self, before: pd.Timedelta, after: pd.Timedelta | None = None) -> Window:
        """The window extended by *before* (and *after*), e.g. to see the baseline."""
        return Window(self.start - before, self.end + (after if after is not None else before))

    def mask(self, times: pd.Series) -> pd.Series:
        """Boolean mask of *times* inside the window."""
        return (times >= self.start) & (times < self.end)

    def to_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    def __str__(self) -> str:
        fmt = "%Y-%m-%d %H:%M UTC"
        return f"{self.start.strftime(fmt)} – {self.end.strftime(fmt)}"


def parse_window(start: str = "", end: str = "", *, now: pd.Timestamp | None = None) -> Window:
    """Build the incident window from the shared ``start``/``end`` parameters."""
    now = utc_now() if now is None else now
    end_at = parse_time(end, now=now, key="end") if str(end).strip() else now
    start_at = (
        parse_time(start, now=end_at if _is_relative(start) else now, key="start")
        if str(start).strip()
        else end_at - DEFAULT_SPAN
    )
    return Window(start_at, end_at)


def _is_relative(value: str) -> bool:
    # "-2h" for start is relative to *end*, so `start=-2h end=2026-01-01T12:00` means 10:00.
    return bool(_RELATIVE.match(str(value)))
