"""Explore views driven from Python: moving the window, a filter or the drill-down redraws
the chart and the table of the view; a failing callback shows its error in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from runbook_lib.notebook.bundles import Bundle
from runbook_lib.notebook.explore import ExploreView, with_status_class
from runbook_lib.notebook.widgets import explore_by
from runbook_lib.sources.logs import collect_access_log

LOG = Path(__file__).resolve().parents[1] / "data" / "access" / "access_combined" / "shop_access_log.combined.log"


@pytest.fixture(scope="module")
def requests() -> pd.DataFrame:
    got = collect_access_log(str(LOG))
    assert got.status == "ok" and len(got.frame) > 100
    return got.frame


def parts(outputs: tuple[Bundle, ...]) -> dict[str, Any]:
    """The text line, the PNG and the table HTML of a view's outputs."""
    data = [o["data"] for o in outputs]
    return {
        "line": data[0]["text/plain"],
        "png": next(d["image/png"] for d in data if "image/png" in d),
        "table": next(d.get("text/html", "") for d in data[2:]),
    }


def make(frame: pd.DataFrame, **kw: Any) -> ExploreView:
    view = ExploreView(frame, at="requested_at", filters=["status_class", "client_ip"], split="status_class", **kw)
    box = view.build()
    assert "rbk-explore" in box._dom_classes
    return view


def test_window_filters_and_drill_redraw_chart_and_table(requests: pd.DataFrame) -> None:
    view = make(requests, drill="client_ip", columns=["requested_at", "client_ip", "status", "path"])
    w = view.widgets
    assert "rbk-window" in w["window"]._dom_classes and "rbk-view" in w["view"]._dom_classes
    assert all("rbk-filter" in f._dom_classes for f in w["filters"].values())
    assert "rbk-drill" in w["drill"]._dom_classes
    first = parts(w["view"].outputs)
    assert first["line"].startswith(f"{len(requests):,} rows")

    w["window"].index = (0, len(view.stops) // 3)  # what the browser's End/Home keys do
    narrowed = parts(w["view"].outputs)
    kept = requests[requests["requested_at"] < view.stops[len(view.stops) // 3] + (view.stops[1] - view.stops[0])]
    assert narrowed["line"].startswith(f"{len(kept):,} rows")
    assert narrowed["png"] != first["png"] and narrowed["table"] != first["table"]

    w["window"].index = (0, len(view.stops) - 1)
    errors = requests[requests["status"] >= 400]
    assert not errors.empty
    klass = f"{int(errors['status'].iloc[0]) // 100}xx"
    w["filters"]["status_class"].value = klass
    filtered = parts(w["view"].outputs)
    assert filtered["line"].startswith(f"{int((requests['status'] // 100 == int(klass[0])).sum()):,} rows")
    assert filtered["png"] != first["png"]

    w["filters"]["status_class"].value = ""
    ip = str(requests["client_ip"].value_counts().index[1])
    w["drill"].value = ip
    drilled = parts(w["view"].outputs)
    assert drilled["line"].startswith(f"{int((requests['client_ip'] == ip).sum()):,} rows")
    assert ip in drilled["table"] and f"client_ip={ip}" in drilled["line"]
    others = set(requests["client_ip"]) - {ip}
    assert not any(f">{other}<" in drilled["table"] for other in others)


def test_static_bundles_have_no_widget_state(requests: pd.DataFrame) -> None:
    view = ExploreView(requests, at="requested_at", filters=["status_class"])
    kinds = {k for b in view.bundles() for k in b["data"]}
    assert {"image/png", "text/html", "text/plain"} <= kinds
    assert "application/vnd.jupyter.widget-view+json" not in kinds


def test_a_failing_callback_shows_its_error_in_place(requests: pd.DataFrame) -> None:
    view = make(requests)
    before = view.widgets["view"].outputs
    view.frame = view.frame.drop(columns=["requested_at"])  # the source went away mid-incident
    view.widgets["window"].index = (1, 2)
    box = view.widgets["box"]
    shown = [c for c in box.children if "rbk-error" in c._dom_classes]
    assert len(shown) == 1 and "KeyError" in shown[0].value and "requested_at" in shown[0].value
    assert view.widgets["view"].outputs == before
    view.frame = requests  # the source is back: the next change redraws and clears the error
    view.widgets["window"].index = (0, 3)
    assert not [c for c in box.children if "rbk-error" in c._dom_classes]
    assert view.widgets["view"].outputs != before


def test_explore_by_starts_on_the_first_choice(requests: pd.DataFrame) -> None:
    ips = list(requests["client_ip"].value_counts().index[:3])
    view = explore_by(requests, "client_ip", ips, at="requested_at", columns=["client_ip", "path"])
    assert view is not None and view.drilled == ips[0]
    assert set(view.rows()["client_ip"]) == {ips[0]}


def test_millis_columns_keep_the_order_within_a_second() -> None:
    # Two requests 250 ms apart from one client (a burst): the drill-down table must tell them apart.
    at = pd.to_datetime(["2026-11-27T14:02:07.100Z", "2026-11-27T14:02:07.350Z", "2026-11-27T14:03:00.000Z"], utc=True)
    frame = pd.DataFrame({"requested_at": at, "client_ip": ["192.0.2.7"] * 3, "status": [200, 429, 200]})
    precise = parts(ExploreView(frame, at="requested_at", drill="client_ip", millis=["requested_at"]).bundles())
    assert ">2026-11-27 14:02:07.350<" in precise["table"] and ">2026-11-27 14:02:07.100<" in precise["table"]
    plain = parts(ExploreView(frame, at="requested_at", drill="client_ip").bundles())
    assert ".350" not in plain["table"] and plain["table"].count(">2026-11-27 14:02:07<") == 2


def test_status_class_has_only_the_classes_present_and_none_for_odd_statuses() -> None:
    frame = pd.DataFrame({"status": [503, 200, 404, 1000, 201, -5, 502]})
    klass = with_status_class(frame)["status_class"]
    assert list(klass.cat.categories) == ["2xx", "4xx", "5xx"]
    assert klass.astype(object).where(klass.notna(), None).tolist() == ["5xx", "2xx", "4xx", None, "2xx", None, "5xx"]
    assert with_status_class(pd.DataFrame({"status": [0]}))["status_class"].cat.categories.tolist() == ["0xx"]
