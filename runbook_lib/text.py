"""Text from logs made safe to show: printable, bounded. Pure, so charts and tables share it."""

from __future__ import annotations

import re

__all__ = [
    "MAX_CELL_CHARS",
    "clean_text",
]

#: Longest cell shown in a table; the full value stays in the frame.
MAX_CELL_CHARS = 160
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(value: object, max_chars: int = MAX_CELL_CHARS) -> str:
    """Plain, printable, bounded text: ANSI and control characters removed, long text cut."""
    text = _CONTROL.sub("", _ANSI.sub("", str(value)))
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"
