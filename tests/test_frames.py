"""select_rows gives exactly what ``frame[mask]`` gives, on Arrow-backed and numpy columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from runbook_lib.frames import equal_to, select_rows


def test_select_rows_equals_boolean_indexing_on_chunked_arrow_columns() -> None:
    text = pd.StringDtype("pyarrow", na_value=np.nan)
    chunked = pa.chunked_array([pa.array(["a", None, "c"]), pa.array(["d", "e"])])
    frame = pd.DataFrame(
        {
            "ip": pd.array(chunked, dtype=text),
            "status": [200, 429, 500, 404, 200],
            "at": pd.date_range("2026-11-20", periods=5, freq="s", tz="UTC"),
            "kind": pd.Categorical(["x", "y", "x", "y", "x"]),
        },
        index=[10, 11, 12, 13, 14],
    )
    mask = pd.Series([True, True, False, None, True], dtype="boolean", index=frame.index)
    got = select_rows(frame, mask)
    want = frame[mask.fillna(False).to_numpy(dtype=bool)]
    pd.testing.assert_frame_equal(got, want)
    assert list(got.index) == [10, 11, 14] and got["ip"].isna().tolist() == [False, True, False]
    assert select_rows(frame, np.zeros(5, dtype=bool)).empty


def test_equal_to_matches_the_text_of_strings_categories_and_numbers() -> None:
    text = pd.Series(["10.0.0.1", None, "10.0.0.2"], dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    assert equal_to(text, "10.0.0.1").tolist() == [True, False, False]
    kinds = pd.Series(pd.Categorical(["4xx", None, "5xx"]))
    assert equal_to(kinds, "5xx").tolist() == [False, False, True] and not equal_to(kinds, "2xx").any()
    assert equal_to(pd.Series([200, 429, 429]), "429").tolist() == [False, True, True]
