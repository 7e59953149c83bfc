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

import pandas as pd
import polars as pl

from runbook_lib.collected import Collected

from ._codes import column_codes, factorize, remember_codes, renumbered

#: Placeholder for a collapsed identifier segment.
ID = "{id}"
#: What a request without a usable target (``"-"``, empty, garbage) is counted as.
NO_PATH = "(none)"

#: Targets :func:`_templates` splits in polars: printable ASCII from "/", no spaces.
_PLAIN = r"^/[\x21-\x7e]*$"
_PAIR = {"path": pl.String, "segment": pl.String}
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
    return "/".join(_part(part) for part in text.split("/"))


@lru_cache(maxsize=65536)
def _part(part: str) -> str:
    """One path segment's template (a file name keeps its extension)."""
    stem, dot, ext = part.rpartition(".")
    if dot and stem and 1 <= len(ext) <= 5 and ext.isalnum() and not ext.isdigit():
        # "app.3f9c2a1b.js" -> "app.{id}.js"; "report.pdf" stays.
        return ".".join(_segment(p) for p in stem.split(".")) + "." + ext
    return _segment(part)


def _templates(paths: pl.Series) -> pl.DataFrame:
    """``path`` → ``endpoint`` (:func:`endpoint_template`) for distinct non-null *paths*, vectorised.

    Plain targets (printable ASCII from ``/``: nearly all of them) are cut at ``?``/``#``
    and split into segments by polars; all-digit segments become ``{id}`` there, and every
    other distinct segment goes through :func:`_part` once. The rest (absolute-form,
    whitespace, non-ASCII, garbage) take :func:`endpoint_template` one value at a time.
    """
    plain = paths.str.contains(_PLAIN)
    simple, odd = paths.filter(plain), paths.filter(~plain)
    segments = (
        pl.DataFrame({"path": simple})
        .with_columns(pl.col("path").str.replace(r"[?#].*$", "").str.split("/").alias("segment"))
        .with_row_index("at")
        .explode("segment")
    )
    distinct = segments["segment"].unique()
    distinct = distinct.filter(~distinct.str.contains(r"^[0-9]*$"))
    lookup = dict(zip(distinct.to_list(), [_part(v) for v in distinct.to_list()], strict=True))
    templated = segments.with_columns(
        pl.when(pl.col("segment") == "")
        .then(pl.lit(""))
        .when(pl.col("segment").str.contains(r"^[0-9]+$"))
        .then(pl.lit(ID))
        .otherwise(pl.col("segment").replace_strict(lookup, default=None, return_dtype=pl.String))
        .alias("segment")
    )
    joined = templated.group_by("at", maintain_order=True).agg(pl.col("path").first(), pl.col("segment").str.join("/"))
    rest = pl.DataFrame({"path": odd, "segment": [endpoint_template(v) for v in odd.to_list()]}, schema=_PAIR)
    return pl.concat([joined.select("path", "segment"), rest]).rename({"segment": "endpoint"})


def _templates_of(paths: pl.Series) -> tuple[pl.Series, pl.Series]:
    """The endpoint of each of the distinct, non-null *paths*: its code among the distinct
    templates (aligned with *paths*), and those templates; each *shape* is templated once.

    Most distinct targets differ only in their numbers and query strings (479k distinct
    paths, a few thousand shapes, on the 5M-line benchmark log): plain targets are first cut
    at ``?``/``#`` with their all-digit segments written ``{id}`` — which templating does
    anyway and leaves alone — and only the distinct results are templated.
    """
    plain = paths.str.contains(_PLAIN)
    digits = r"/[0-9]+(/|$)"
    shape = paths.str.replace(r"[?#].*$", "").str.replace_all(digits, "/{id}$1").str.replace_all(digits, "/{id}$1")
    codes, shapes = factorize(pl.select(pl.when(plain).then(shape).otherwise(paths))[:, 0])
    lookup = _templates(shapes)
    endpoints = pl.DataFrame({"path": shapes}).join(lookup, on="path", how="left", maintain_order="left")["endpoint"]
    template, templates = factorize(endpoints)  # shapes that template alike: one endpoint
    return template.gather(codes), templates


def with_endpoints(frame: pd.DataFrame) -> pd.DataFrame:
    """*frame* with an ``endpoint`` column (computed once per distinct path; idempotent)."""
    if "endpoint" in frame.columns:
        return frame
    if frame.empty:
        return frame.assign(endpoint=pd.Series(dtype="str", index=frame.index))
    # One template per distinct path, gathered back onto the rows by the path's code: a
    # Python loop over millions of rows, then over every distinct path, was most of this
    # step, and then polars' unique and join on the path strings (:func:`factorize`).
    codes, paths = column_codes(frame, "path")
    codes, templates = renumbered(*_templates_of(paths.fill_null("")), codes)
    # Arrow takes each row's text from the few distinct templates (cache-friendly), and the
    # codes are kept for the tables that group on the endpoint next.
    endpoint = templates.to_arrow().take(codes.to_arrow())
    out = frame.assign(
        endpoint=pd.Series(endpoint, index=frame.index, dtype=pd.ArrowDtype(endpoint.type)).astype("str")
    )
    remember_codes(out, "endpoint", codes, templates)
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
