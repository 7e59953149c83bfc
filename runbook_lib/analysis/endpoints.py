"""Endpoint templates: turn raw request targets into the route they hit.

Why: ``/api/users/17?x=1`` and ``/api/users/42`` are one endpoint. Counting 429s or
failures per raw path spreads one hot route over thousands of rows, so every web analysis
groups by the template ``/api/users/{id}``: the query string and fragment are dropped, an
absolute-form target (``http://host/path``, sent to proxies) keeps only its path, and path
segments that are identifiers collapse to ``{id}``: decimal numbers, UUIDs, long hex
strings (hashes, object ids) and long opaque tokens that mix letters and digits.

:func:`with_forwarded_clients` (opt-in) re-attributes requests to the address in
``X-Forwarded-For`` when the log's client address is our own load balancer.

Input frame: the access-log frame (``runbook_lib.sources.logs.access_log``) with column
``path`` (the raw request target, query included). Output: the same frame plus column
``endpoint`` (str). Pure; no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace
from functools import lru_cache

import numpy as np
import pandas as pd

from runbook_lib.collected import Collected

#: Placeholder for a collapsed identifier segment.
ID = "{id}"
#: What a request without a usable target (``"-"``, empty, garbage) is counted as.
NO_PATH = "(none)"

_ABSOLUTE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://[^/]*")
_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
# 8+ hex digits with at least one digit: git shas, Mongo object ids, content hashes.
_HEX = re.compile(r"^(?=[^0-9]*[0-9])[0-9a-fA-F]{8,}$")
# Opaque tokens: 16+ URL-safe characters mixing letters and digits (session ids, base64).
_TOKEN = re.compile(r"^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_\-=~.]{16,}$")
# Numbers glued to a word stay meaningful (v1, page2) only when short; "order-12345" is an id.
_PREFIXED_ID = re.compile(r"^(?P<word>[A-Za-z]+[-_])\d{3,}$")


def _segment(segment: str) -> str:
    if not segment:
        return segment
    if _NUMBER.match(segment) or _UUID.match(segment) or _HEX.match(segment):
        return ID
    if _TOKEN.match(segment):
        return ID
    match = _PREFIXED_ID.match(segment)
    if match:
        return match["word"] + ID
    return segment


@lru_cache(maxsize=65536)
def endpoint_template(target: object) -> str:
    """The route template of one raw request target, e.g. ``/api/users/{id}``.

    Static files keep their directory and extension (``/static/app.{id}.js`` for a
    fingerprinted bundle), so assets stay apart from API routes.
    """
    if not isinstance(target, str):
        return NO_PATH
    text = target.strip()
    if not text or text == "-":
        return NO_PATH
    text = _ABSOLUTE.sub("", text)
    for cut in ("?", "#"):
        pos = text.find(cut)
        if pos >= 0:
            text = text[:pos]
    if not text.startswith("/"):
        # "*" (OPTIONS *), CONNECT host:port, or garbage from a scanner: keep it visible, bounded.
        return text[:80] if text else NO_PATH
    parts = text.split("/")
    out = []
    for part in parts:
        stem, dot, ext = part.rpartition(".")
        if dot and stem and 1 <= len(ext) <= 5 and ext.isalnum() and not ext.isdigit():
            # "app.3f9c2a1b.js" -> "app.{id}.js"; "report.pdf" stays.
            pieces = stem.split(".")
            out.append(".".join(_segment(p) for p in pieces) + "." + ext)
        else:
            out.append(_segment(part))
    return "/".join(out)


def with_endpoints(frame: pd.DataFrame) -> pd.DataFrame:
    """*frame* with an ``endpoint`` column (computed once per distinct path; idempotent)."""
    if "endpoint" in frame.columns:
        return frame
    out = frame.copy()
    if out.empty:
        out["endpoint"] = pd.Series(dtype="str", index=out.index)
        return out
    codes, uniques = pd.factorize(out["path"], use_na_sentinel=True)
    # One template per distinct path, then a vectorised take (code -1, a missing path, is
    # the last entry): a Python loop over millions of rows was most of this step.
    templates = np.asarray([endpoint_template(v) for v in uniques] + [NO_PATH], dtype=object)
    out["endpoint"] = pd.Series(templates[codes], index=out.index, dtype="str")
    return out


def _client_from_chain(chain: object) -> str:
    """The right-most public address of an X-Forwarded-For chain (else right-most valid)."""
    valid = []
    for part in str(chain).split(","):
        try:
            valid.append(ipaddress.ip_address(part.strip()))
        except ValueError:
            continue
    for address in reversed(valid):
        if address.is_global:
            return address.compressed
    return valid[-1].compressed if valid else ""


def with_forwarded_clients(collected: Collected, *, enabled: bool = True) -> Collected:
    """*collected* with ``client_ip`` taken from ``X-Forwarded-For`` where it holds an address.

    Opt-in (parameter ``use_forwarded_for``): behind a load balancer every request comes
    from the balancer's address, so per-client analyses would see one giant client. Each
    proxy appends the address it saw, so the chain is read from the **right**: the
    right-most public address is the client as seen by the first proxy we run (the
    left-most is whatever the client chose to send and can be forged); with no public
    address, the right-most valid one. The replaced address is kept as ``proxy_ip``; rows
    without a usable chain keep their ``client_ip``. Without a list of trusted proxies this
    is a heuristic: use it only when the log's client address is your own proxy.
    """
    frame = collected.frame
    if not enabled or "forwarded_for" not in frame.columns or frame.empty:
        return collected
    out = frame.copy()
    codes, uniques = pd.factorize(out["forwarded_for"], use_na_sentinel=True)
    clients = [_client_from_chain(v) for v in uniques]
    picked = pd.Series([clients[c] if c >= 0 else "" for c in codes], index=out.index, dtype="str")
    out["proxy_ip"] = out["client_ip"]
    out["client_ip"] = picked.where(picked != "", out["client_ip"].astype("str")).astype("str")
    return replace(collected, frame=out)
