"""Rate-limit analysis on generated logs with a 429 storm, and on a clean control log."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pandas as pd
import pytest

from runbook_lib.analysis import traffic
from runbook_lib.analysis.endpoints import with_endpoints
from runbook_lib.analysis.traffic_findings import (
    find_bursts,
    find_rate_limiting,
    find_retry_storms,
    find_upstream_quota,
    rate_limit_next_steps,
)
from runbook_lib.charts.web import plot_limited_per_minute, plot_limiting_vs_limited
from runbook_lib.collected import Collected, empty_frame
from runbook_lib.errors import ParameterError
from runbook_lib.notebook.display import figure_png
from runbook_lib.remedies.web import containment_text, limit_req_text, suggest_limit_req
from runbook_lib.sources.logs.access_log import ACCESS_SCHEMA, collect_access_log
from runbook_lib.timewindow import Window
from tests.weblog import FRAME_SCHEMA, WebLog, generate

QUIET = {"info"}


@pytest.fixture(scope="module")
def storm() -> WebLog:
    return generate(seed=11, incidents=("storm", "upstream"))


@pytest.fixture(scope="module")
def control() -> WebLog:
    return generate(seed=11, incidents=())


def collected(frame: pd.DataFrame, source: str = "access_log") -> Collected:
    return Collected(source, "generated", frame)


def test_storm_names_the_endpoint_and_the_clients(storm: WebLog) -> None:
    frame = storm.frame()
    finding = find_rate_limiting(collected(frame))
    assert finding.severity == "high"
    assert f"`{storm.storm_endpoint}`" in finding.summary
    assert set(finding.numbers["driving_clients"]) == set(storm.storm_ips)
    assert all(f"`{ip}`" in finding.summary for ip in storm.storm_ips)
    assert finding.numbers["top_endpoint"] == storm.storm_endpoint


def test_the_notebooks_rankings_give_the_same_finding(storm: WebLog) -> None:
    # The notebook ranks once (top_n or more rows) and hands the tables over.
    frame = with_endpoints(storm.frame())
    ranked = traffic.rank_limited(frame, by="endpoint", top=15), traffic.rank_limited(frame, by="client_ip", top=60)
    alone = find_rate_limiting(collected(frame), frame)
    handed = find_rate_limiting(collected(frame), frame, ranked=ranked)
    assert (handed.severity, handed.summary, handed.numbers, handed.evidence) == (
        alone.severity, alone.summary, alone.numbers, alone.evidence,
    )  # fmt: skip


def test_rankings_by_endpoint_client_and_user_agent(storm: WebLog) -> None:
    frame = storm.frame()
    endpoints = traffic.rank_limited(frame, by="endpoint")
    assert endpoints.iloc[0]["endpoint"] == storm.storm_endpoint
    clients = traffic.rank_limited(frame, by="client_ip")
    assert set(clients.head(3)["client_ip"]) == set(storm.storm_ips)
    # The share of each storming client's own requests that got 429 is large; of normal ones, small.
    assert clients.head(3)["limited_share"].min() > 0.5
    assert clients.iloc[3:]["limited_share"].max() < 0.2
    agents = traffic.rank_limited(frame, by="user_agent")
    assert agents.iloc[0]["user_agent"] == "python-requests/2.31.0"
    assert agents.iloc[0]["clients"] == len(storm.storm_ips)


def test_per_minute_series_puts_the_429s_inside_the_storm(storm: WebLog) -> None:
    frame = storm.frame()
    series = traffic.limited_per_minute(frame, top=3)
    assert {"minute_at", "requests", "limited", storm.storm_endpoint} <= set(series.columns)
    assert int(series["limited"].sum()) == int((frame["status"] == 429).sum())
    peak = series.loc[series["limited"].idxmax(), "minute_at"]
    assert storm.start + pd.Timedelta(minutes=19) <= peak <= storm.start + pd.Timedelta(minutes=36)


def test_bursts_and_retry_storms_name_the_storming_clients(storm: WebLog) -> None:
    frame = storm.frame()
    bursts = traffic.detect_bursts(frame)
    assert set(bursts["client_ip"]) == set(storm.storm_ips)
    assert (bursts["top_endpoint"] == storm.storm_endpoint).all()
    # The steady heavy partner integration is busy, but not a burst.
    assert "192.0.2.200" not in set(bursts["client_ip"])
    storms = traffic.detect_retry_storms(frame, within_s=5)
    assert set(storms["client_ip"]) == set(storm.storm_ips)
    assert set(storms["endpoint"]) == {storm.storm_endpoint}
    finding = find_retry_storms(collected(frame), storms)
    assert finding.severity in {"medium", "high"} and storm.storm_endpoint in finding.summary
    assert find_bursts(collected(frame), bursts).numbers["clients"][0] in storm.storm_ips


def test_we_are_limited_is_a_separate_series(storm: WebLog) -> None:
    app = storm.app_frame()
    upstream = traffic.detect_upstream_quota(app)
    assert len(upstream) == 80 and set(upstream["upstream"]) == {storm.upstream_host}
    finding = find_upstream_quota(collected(app, "app_log"), upstream)
    assert finding.kind == "upstream_quota" and storm.upstream_host in finding.summary
    side_by_side = traffic.quota_per_minute(storm.frame(), upstream)
    assert int(side_by_side["upstream_limits_us"].sum()) == 80
    assert int(side_by_side["we_limit_429"].sum()) == int((storm.frame()["status"] == 429).sum())


def test_next_steps_and_pattern_parameter(storm: WebLog) -> None:
    frame = storm.frame()
    findings = [
        find_rate_limiting(collected(frame)),
        find_retry_storms(collected(frame), traffic.detect_retry_storms(frame)),
        find_upstream_quota(
            collected(storm.app_frame(), "app_log"),
            traffic.detect_upstream_quota(storm.app_frame()),
        ),
    ]
    steps = rate_limit_next_steps(findings)
    assert storm.storm_endpoint in steps[0] and storm.storm_ips[0] in steps[0]
    assert any("back off" in s for s in steps) and any("quota" in s for s in steps)
    own = (
        storm.app_frame()
        .head(4)
        .assign(
            message=[
                "GET /api/search?q=1 429 3ms",  # our own request log: we limit, not them
                "[http] POST /api/cart 429 1ms",
                "[http] GET /api/products/429 200 16ms",  # an id, not a status
                "Cart total mismatch: expected 495.00 got 429.00",
            ]
        )
    )
    assert traffic.detect_upstream_quota(own).empty
    theirs = own.assign(message=["github api: status 429", "openai: Rate limit reached", "x", "y"])
    assert len(traffic.detect_upstream_quota(theirs)) == 2
    custom = traffic.detect_upstream_quota(storm.app_frame(), pattern=r"charges returned 4\d\d")
    assert len(custom) == 80
    with pytest.raises(ParameterError, match="upstream_pattern"):
        traffic.detect_upstream_quota(storm.app_frame(), pattern="[unclosed")


def test_control_log_stays_quiet(control: WebLog) -> None:
    frame = control.frame()
    assert (frame["status"] == 429).sum() > 0  # stray 429s exist in normal life
    findings = [
        find_rate_limiting(collected(frame)),
        find_bursts(collected(frame), traffic.detect_bursts(frame)),
        find_retry_storms(collected(frame), traffic.detect_retry_storms(frame)),
        find_upstream_quota(
            collected(control.app_frame(), "app_log"),
            traffic.detect_upstream_quota(control.app_frame()),
        ),
    ]
    assert {f.severity for f in findings} == QUIET, [f.summary for f in findings]
    assert "no single driver" in findings[0].summary


def test_limit_req_suggestion_from_normal_clients(storm: WebLog) -> None:
    frame = traffic.with_endpoints(storm.frame())
    suggestion = suggest_limit_req(frame, exclude_ips=storm.storm_ips)
    assert suggestion is not None
    assert suggestion.excluded == sorted(storm.storm_ips)
    # p99 of normal clients' busiest minute, with headroom, far below the storm's ~5 r/s.
    per_second = int(suggestion.rate[:-3]) / (60 if suggestion.rate.endswith("r/m") else 1)
    assert suggestion.p_minute_rate / 60 <= per_second < 1
    # The partner integration (~45 req/min) is above p99: the text says it would be limited.
    assert suggestion.would_limit == ["192.0.2.200"]
    assert "Would also limit 1 normal client(s)" in suggestion.text and "192.0.2.200" in suggestion.text
    assert "limit_req_zone $binary_remote_addr zone=api:" in suggestion.text
    assert f"limit_req zone=api burst={suggestion.burst} nodelay;" in suggestion.text
    assert "location /api/ {" in suggestion.text
    nobody = suggest_limit_req(frame, exclude_ips=frame["client_ip"].unique())
    assert nobody is None and "no limit_req suggestion" in limit_req_text(nobody)


def test_generated_frame_matches_the_reader_on_the_written_file(tmp_path: Path) -> None:
    log = generate(seed=2, minutes=10, clients=20)
    access, _ = log.write(tmp_path, request_time=True)
    read = collect_access_log(str(access), window=Window(log.start, log.end + pd.Timedelta(hours=1)))
    assert read.status == "ok" and FRAME_SCHEMA == ACCESS_SCHEMA
    expected = log.frame(source_file=read.frame["source_file"].iloc[0])
    pd.testing.assert_frame_equal(read.frame.reset_index(drop=True), expected, check_dtype=True)


def test_containment_text_only_holds_valid_addresses() -> None:
    text = containment_text(["203.0.113.7", "10.0.0.1", "2001:db8::1", "1.2.3.4; curl x|sh", "203.0.113.7"])
    assert "deny 203.0.113.7;" in text and text.count("deny 203.0.113.7;") == 1
    assert "sudo ip6tables -I INPUT -s 2001:db8::1 -j DROP" in text
    assert "curl" not in text and "1 value(s) were not IP addresses" in text
    warning = next(line for line in text.splitlines() if "WARNING" in line)
    assert "10.0.0.1" in warning and "2001:db8::1" in warning  # private / documentation ranges
    for line in text.splitlines():
        if line.startswith("deny "):
            ipaddress.ip_address(line[5:-1])
    assert "No IP addresses to block" in containment_text([])


def test_unusable_source_is_unknown_not_quiet() -> None:
    down = Collected(
        "access_log",
        "/var/log/nginx/access.log",
        empty_frame(FRAME_SCHEMA),
        status="unavailable",
        reason="file not found",
    )
    for finding in (
        find_rate_limiting(down),
        find_bursts(down, traffic.detect_bursts(down.frame)),
        find_retry_storms(down, traffic.detect_retry_storms(down.frame)),
    ):
        assert finding.severity == "unknown" and "file not found" in finding.summary
    skipped = Collected(
        "app_log",
        "",
        empty_frame({"logged_at": "datetime64[ns, UTC]", "level": "str", "logger": "str", "message": "str"}),
        status="skipped",
    )
    assert find_upstream_quota(skipped, traffic.detect_upstream_quota(skipped.frame)).severity == "unknown"
    assert traffic.limited_per_minute(down.frame).empty


def test_charts_state_the_finding_and_survive_empty_frames(storm: WebLog) -> None:
    frame = storm.frame()
    window = Window(storm.start, storm.end)
    series = traffic.limited_per_minute(frame, window=window, top=3)
    fig = plot_limited_per_minute(series, window=window)
    limited = int((frame["status"] == 429).sum())
    assert fig.get_suptitle().startswith(f"{limited} responses were 429; peak ")
    assert storm.storm_endpoint in [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    side = traffic.quota_per_minute(frame, traffic.detect_upstream_quota(storm.app_frame()), window=window)
    assert plot_limiting_vs_limited(side, window=window).get_suptitle() == (
        f"We limited clients {limited} times; upstreams limited us 80 times"
    )
    empty = traffic.limited_per_minute(frame.head(0))
    assert plot_limited_per_minute(empty).get_suptitle() == "No 429 responses in the window"
    assert len(figure_png(plot_limited_per_minute(empty, window=window))) > 1000
