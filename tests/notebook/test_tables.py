"""Readable tables: human units, clean UTC stamps, no index, hover text that survives bleach."""

from __future__ import annotations

import pandas as pd

from runbook_lib.notebook.tables import header, human_bytes, human_duration, human_percent, table_html
from runbook_lib.run.html import clean_html


def test_units_read_like_a_person_wrote_them() -> None:
    assert human_bytes(361 * 2**20) == "361 MiB"
    assert human_bytes(1536) == "1.5 KiB" and human_bytes(12) == "12 B"
    assert human_duration(133) == "2 min 13 s" and human_duration(0.25) == "250 ms"
    assert human_duration(3900) == "1 h 5 min" and human_duration(13.2) == "13.2 s"
    assert human_percent(8.5) == "8.5 %"
    assert header("rss_bytes") == "rss" and header("started_at") == "started (UTC)" and header("cpu_percent") == "cpu"


def test_table_cells_are_formatted_escaped_and_keep_the_full_text_on_hover() -> None:
    noisy = pd.Timestamp("2026-03-14 19:37:53.019999981", tz="UTC")
    frame = pd.DataFrame(
        {
            "seen_at": [noisy, noisy + pd.Timedelta(seconds=1)],
            "rss_bytes": [378_535_936, 1024],
            "wait_s": [133.0, float("inf")],
            "query": ["<script>x</script> " + "SELECT 1 " * 40, "short"],
        },
        index=[5, 9],
    )
    page = clean_html(table_html(frame.reset_index(drop=True)))
    assert "2026-03-14 19:37:53.020" in page and "019999981" not in page
    assert "361 MiB" in page and "378535936" not in page and "2 min 13 s" in page and "∞" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert 'title="&lt;script&gt;x&lt;/script&gt; SELECT 1' in page  # hover survives the allow-list
    assert "<th" in page and not page.count("<tbody><tr><th")
    assert ">rss<" in page and ">seen (UTC)<" in page
    # Whole seconds when nothing has milliseconds.
    plain = table_html(pd.DataFrame({"at": pd.to_datetime(["2026-03-14T19:37:53Z"])}))
    assert ">2026-03-14 19:37:53<" in plain


def test_row_positions_left_by_filtering_are_not_a_column() -> None:
    frame = pd.DataFrame({"path": ["/a", "/b", "/c"], "status": [200, 500, 200]})
    filtered = frame[frame["status"] == 200].sort_values("path", ascending=False)  # index [2, 0]
    page = table_html(filtered)
    assert "<th title='index'>" not in page and ">index<" not in page
    named = frame.set_index("path")
    assert ">path<" in table_html(named)  # a named index is a column people read
