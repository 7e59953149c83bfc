"""Keep secrets out of reports, logs and error messages.

Secrets are never parameters (DESIGN.md); this module is the belt to that brace: every
string that goes into an archive or an error passes through :func:`redact`, and the runner
refuses parameter values for which :func:`carries_secret` is true.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "MASK",
    "carries_secret",
    "redact",
    "redact_obj",
]

MASK = "***"

# scheme://user:password@host  -> scheme://user:***@host
_URL_USERINFO = re.compile(r"(?P<pre>[a-zA-Z][a-zA-Z0-9+.\-]*://[^/\s:@]*):(?P<secret>[^@\s/]*)@")
# password=..., passwd: ..., token=..., api_key=..., secret=... (DSN keywords, query strings, env dumps)
_KEY_VALUE = re.compile(
    r"(?P<key>\b(?:password|passwd|pwd|pass|token|access_token|api[_-]?key|secret|"
    r"client_secret|auth)\b\s*[=:]\s*)(?P<secret>\"[^\"]*\"|'[^']*'|[^\s'\"&;,]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<key>\b(?:Bearer|Basic)\s+)(?P<secret>[A-Za-z0-9._~+/=\-]{8,})")


def redact(text: str) -> str:
    """Return *text* with URL passwords, ``password=``-style values and bearer tokens masked."""
    if not text:
        return text
    text = _URL_USERINFO.sub(lambda m: f"{m['pre']}:{MASK}@", text)
    text = _KEY_VALUE.sub(lambda m: f"{m['key']}{MASK}", text)
    return _BEARER.sub(lambda m: f"{m['key']}{MASK}", text)


def carries_secret(value: object) -> bool:
    """True when a parameter value looks like it holds a password or token."""
    if isinstance(value, str):
        return redact(value) != value
    if isinstance(value, Mapping):
        return any(carries_secret(k) or carries_secret(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set)):
        return any(carries_secret(v) for v in value)
    return False


def redact_obj(value: Any) -> Any:
    """Redact every string inside a JSON-like structure (dicts, lists, scalars)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact_obj(k): redact_obj(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_obj(v) for v in value]
    return value
