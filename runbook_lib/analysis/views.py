"""Cross-tabulated views of the access log that GoAccess users ask for and GoAccess lacks:
status × endpoint (× time) and status × client, over whatever window the frame covers.

Input: the access frame (``requested_at``, ``status``, ``client_ip``…) with an ``endpoint``
column (``analysis.endpoints.with_endpoints``). Output of :func:`status_matrix`::

    [bucket_at] | <by> | requests | 2xx | 3xx | 4xx | 429 | 5xx | error_share
"""

from __future__ import annotations

import pandas as pd

STATUS_COLUMNS = ["2xx", "3xx", "4xx", "429", "5xx"]


def status_matrix(frame: pd.DataFrame, *, by: str = "endpoint", freq: str = "", top: int = 20) -> pd.DataFrame:
    """Requests by status class for the *top* values of *by* (most requests first).

    With *freq* (e.g. ``"5min"``) the table has one row per time bucket and value, for the
    same top values, so a status × endpoint × time question is one filter away.
    """
    keys = (["bucket_at"] if freq else []) + [by]
    columns = [*keys, "requests", *STATUS_COLUMNS, "error_share"]
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    status = frame["status"]
    counts = pd.DataFrame(
        {
            by: frame[by],
            "requests": 1,
            "2xx": status.between(200, 299).astype("int64"),
            "3xx": status.between(300, 399).astype("int64"),
            "4xx": status.between(400, 499).astype("int64"),
            "429": (status == 429).astype("int64"),
            "5xx": (status >= 500).astype("int64"),
        }
    )
    if freq:
        counts.insert(0, "bucket_at", frame["requested_at"].dt.floor(freq))
    leaders = counts.groupby(by)["requests"].sum().nlargest(top).index
    table = counts[counts[by].isin(leaders)].groupby(keys, sort=False).sum().reset_index()
    table["error_share"] = (table["5xx"] / table["requests"]).round(4)
    order = [*(["bucket_at"] if freq else []), "requests"]
    return table.sort_values(order, ascending=[True] * bool(freq) + [False]).reset_index(drop=True)[columns]
