"""Status × endpoint (× time) and status × client views on a constructed frame."""

from __future__ import annotations

import pandas as pd

from runbook_lib.analysis.views import status_matrix

T0 = pd.Timestamp("2026-03-14T12:00:00", tz="UTC")


def _frame() -> pd.DataFrame:
    rows = [
        (0, "/api/search", "10.0.0.1", 429),
        (1, "/api/search", "10.0.0.1", 429),
        (2, "/api/search", "10.0.0.2", 200),
        (3, "/api/pay/{id}", "10.0.0.3", 502),
        (4, "/api/pay/{id}", "10.0.0.3", 200),
        (400, "/api/search", "10.0.0.1", 304),
        (401, "/", "10.0.0.4", 404),
    ]
    return pd.DataFrame(
        {
            "requested_at": [T0 + pd.Timedelta(seconds=s) for s, *_ in rows],
            "endpoint": [r[1] for r in rows],
            "client_ip": [r[2] for r in rows],
            "status": [r[3] for r in rows],
        }
    )


def test_status_by_endpoint() -> None:
    table = status_matrix(_frame(), by="endpoint")
    assert list(table["endpoint"]) == ["/api/search", "/api/pay/{id}", "/"]
    search = table.iloc[0]
    assert (search["requests"], search["2xx"], search["3xx"], search["4xx"], search["429"]) == (4, 1, 1, 2, 2)
    assert table.iloc[1]["5xx"] == 1 and table.iloc[1]["error_share"] == 0.5


def test_status_by_client_top_and_time() -> None:
    table = status_matrix(_frame(), by="client_ip", top=2)
    assert set(table["client_ip"]) == {"10.0.0.1", "10.0.0.3"}
    timed = status_matrix(_frame(), by="endpoint", freq="5min")
    assert list(timed["bucket_at"].unique()) == [T0, T0 + pd.Timedelta(minutes=5)]
    first = timed[timed["bucket_at"] == T0]
    assert list(first["endpoint"]) == ["/api/search", "/api/pay/{id}"]
    assert status_matrix(_frame().iloc[0:0]).empty
