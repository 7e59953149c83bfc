"""Endpoint templates: raw request targets collapse to the route they hit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from runbook_lib.analysis._codes import column_codes, factorize
from runbook_lib.analysis.endpoints import NO_PATH, endpoint_template, with_endpoints, with_forwarded_clients
from runbook_lib.collected import Collected
from runbook_lib.sources.logs import collect_access_log


@pytest.mark.parametrize(
    "target,template",
    [
        ("/api/users/17?x=1", "/api/users/{id}"),
        ("/api/users/42", "/api/users/{id}"),
        ("/api/users/550e8400-e29b-41d4-a716-446655440000/orders", "/api/users/{id}/orders"),
        ("/commits/3f9c2a1b7d", "/commits/{id}"),
        ("/objects/507f1f77bcf86cd799439011", "/objects/{id}"),
        ("/s/AbCdEf1234567890xyz/view", "/s/{id}/view"),
        ("/orders/order-12345", "/orders/order-{id}"),
        ("/static/app.3f9c2a1b.js", "/static/app.{id}.js"),
        ("/api/users/17.json", "/api/users/{id}.json"),
        ("/page#section-2", "/page"),
        ("http://proxy.example/api/items/9", "/api/items/{id}"),
        # Words, versions and short names stay.
        ("/api/v2/search?q=1", "/api/v2/search"),
        ("/deadbeef", "/deadbeef"),
        ("/favicon.ico", "/favicon.ico"),
        ("/", "/"),
        # Requests without a target: "-" and empty are one bucket; "*" stays visible.
        ("-", NO_PATH),
        ("", NO_PATH),
        ("*", "*"),
    ],
)
def test_endpoint_template(target: str, template: str) -> None:
    assert endpoint_template(target) == template


def test_with_endpoints_adds_a_column_once_and_keeps_rows() -> None:
    frame = pd.DataFrame({"path": pd.Series(["/a/1", "/a/2?z", None, "/b"], dtype="string"), "status": [200] * 4})
    out = with_endpoints(frame)
    assert out["endpoint"].tolist() == ["/a/{id}", "/a/{id}", NO_PATH, "/b"]
    assert "endpoint" not in frame.columns  # the input is not modified
    assert with_endpoints(out) is out
    empty = with_endpoints(frame.head(0))
    assert empty.empty and "endpoint" in empty.columns


def test_forwarded_for_is_read_from_the_right_and_opt_in() -> None:
    frame = pd.DataFrame(
        {
            "client_ip": ["10.0.0.9", "10.0.0.9", "10.0.0.9", "198.51.100.4", "10.0.0.9"],
            "forwarded_for": [
                "85.181.35.97",  # one hop: the client
                "1.2.3.4, 85.181.35.98",  # a forged left-most entry is ignored
                "85.181.35.99, 10.1.2.3",  # an internal proxy appended its own address
                "",  # no chain: keep the address nginx saw
                "unknown, garbage",  # nothing usable
            ],
        }
    ).astype("str")
    access = Collected("access_log", "x", frame)
    assert with_forwarded_clients(access, enabled=False) is access
    out = with_forwarded_clients(access).frame
    assert out["client_ip"].tolist() == ["85.181.35.97", "85.181.35.98", "85.181.35.99", "198.51.100.4", "10.0.0.9"]
    assert out["proxy_ip"].tolist() == frame["client_ip"].tolist()
    assert access.frame["client_ip"].tolist() == frame["client_ip"].tolist()  # input untouched


TRICKY_TARGETS = [
    "/",
    "//x//",
    "/x/12.5/y",
    "/x/1,5",
    "/x/+12",
    "/p/1.2.3",
    "/x.123",
    "/a.b.c.tar",
    "/.env",
    "/a/.b",
    "/q?x=1#f",
    "/q#f?x",
    "/u/ORDER-12345",
    "/v1/page2",
    "/x/0123456789abcdef0123",
    "/x/abcdefgh12",
    "/caf%C3%A9/1",
    "/café/12",
    "http://h/x/1",
    " /a/1 ",
    "/a/1\t",
    "*",
    "-",
    "",
    "GARBAGE \x01\x02",
]


def test_vectorised_templates_match_the_per_target_rule() -> None:
    # with_endpoints splits plain targets in polars and sends the rest through
    # endpoint_template: every real and tricky target must get the same template either way.
    real = collect_access_log(str(Path(__file__).parents[1] / "data" / "access" / "*" / "*.log*")).frame["path"]
    assert len(real) > 1000
    paths = pd.Series([*real.tolist(), *TRICKY_TARGETS, None], dtype="str")
    got = with_endpoints(paths.to_frame("path"))["endpoint"]
    expected = [endpoint_template(p) for p in paths]
    assert got.tolist() == expected
    assert str(got.dtype) == "str" and (got == "/").sum() >= 1 and got.iloc[-1] == NO_PATH


def test_with_endpoints_equals_the_template_of_each_row() -> None:
    # Shapes are templated once (numbers and query strings set aside first): every row must
    # still get exactly endpoint_template of its own target.
    targets = [
        "/api/users/17?x=1", "/api/users/42", "/api/users/42/orders/7", "/a/1/2/3", "/1", "/1/", "//2//",
        "/v1/items/123.json", "/static/app.3f9c2a1b.js", "/orders/order-12345", "/x?y=/1/2", "/p#frag/3",
        "/produkt/%D9%85%D8%AF%D9%84-59799", "http://evil.example/1/2?q", "/caf\u00e9/12", "-", "", "*",
        "/u/550e8400-e29b-41d4-a716-446655440000", "/t/abcdef0123456789abcdef", "/page2", "/12abc/34",
    ]  # fmt: skip
    frame = pd.DataFrame({"path": pd.Series([*targets, None], dtype="str")})
    got = with_endpoints(frame)["endpoint"].tolist()
    assert got == [endpoint_template(t) for t in targets] + [NO_PATH]


def test_with_endpoints_leaves_the_endpoint_codes_an_analysis_would_compute() -> None:
    # The endpoint column's codes are recorded as it is made; they must be exactly what
    # factorizing the finished column gives (first-appearance order), or tables would differ.
    targets = ["/b/1", "/a", "/b/2", None, "/a?x", "-", "/b/3", "/c/x.js"]
    out = with_endpoints(pd.DataFrame({"path": pd.Series(targets, dtype="str")}))
    codes, names = column_codes(out, "endpoint")
    fresh, fresh_names = factorize(pl.Series(out["endpoint"].tolist(), dtype=pl.String))
    assert names.to_list() == fresh_names.to_list() == ["/b/{id}", "/a", NO_PATH, "/c/x.js"]
    assert codes.to_list() == fresh.to_list() == [0, 1, 0, 2, 1, 2, 0, 3]
