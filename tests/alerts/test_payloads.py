"""Real webhook bodies (Alertmanager 0.25 captures, Zulip/msteams fixtures, Grafana 9/11) parse;
malformed ones are refused with one line naming what was wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from runbook_lib.alerts.payloads import PayloadError, parse_body, parse_payload

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "alerts" / "samples"


def _load(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def test_alertmanager_capture_firing_then_resolved() -> None:
    n, raw = parse_body((SAMPLES / "am_0.25_post_001.json").read_bytes())
    assert n.kind == "alertmanager" and n.status == "firing"
    assert n.group_key == '{}:{alertname="HighErrorRate", service="checkout"}'
    assert [a.fingerprint for a in n.alerts] == ["1dadb7db5f0dd2d7", "fd6fc4e8ac50ca08"]
    assert n.alerts[0].ends_at is None  # 0001-01-01 means still firing
    assert n.alerts[0].starts_at == pd.Timestamp("2026-11-27T05:17:16.908874814Z")
    assert n.labels["alertname"] == "HighErrorRate" and raw["truncatedAlerts"] == 0
    mixed = parse_payload(_load("am_0.25_post_002.json"))
    assert mixed.status == "firing" and not mixed.all_resolved
    assert sorted(a.status for a in mixed.alerts) == ["firing", "resolved"]
    done = parse_payload(_load("am_0.25_post_003.json"))
    assert done.all_resolved and done.alerts[0].ends_at is not None


def test_trimmed_alertmanager_payload_gets_derived_fingerprints() -> None:
    n = parse_payload(_load("msteams_prom_post_request.json"))
    assert n.kind == "alertmanager" and n.alerts[0].status == n.status
    assert len(n.alerts[0].fingerprint) == 16
    again = parse_payload(_load("msteams_prom_post_request.json"))
    assert again.alerts[0].key == n.alerts[0].key  # stable: dedupe still works
    zulip = parse_payload(_load("zulip_alertmanager_alert.json"))
    assert len({a.key for a in zulip.alerts}) == 2


def test_grafana_payloads_are_told_apart_by_their_fields() -> None:
    mixed = parse_payload(_load("zulip_grafana_alert-9-mixed.json"))
    assert mixed.kind == "grafana" and len(mixed.alerts) == 3 and len(mixed.firing) == 1
    resolved = parse_payload(_load("zulip_grafana_alert-9-resolved.json"))
    assert resolved.kind == "grafana" and resolved.all_resolved
    v11 = parse_payload(_load("zulip_grafana_alert_no_alertname_v11.json"))
    assert v11.kind == "grafana" and "alertname" not in v11.alerts[0].labels
    assert v11.title


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "malformed JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"version": "3", "status": "firing"}', "unknown schema version '3'"),
        (b'{"version": "4", "status": "firing", "groupKey": "g", "alerts": []}', "missing field 'alerts'"),
        (b'{"version": "4", "status": "firing", "alerts": [{"labels": {"a": "b"}}]}', "missing field 'groupKey'"),
        (
            b'{"version": "4", "status": "firing", "groupKey": "g", "alerts": [{"labels": {"a": "b"}}]}',
            "missing field alerts[0].startsAt",
        ),
        (b'{"version": "4", "status": "burning", "groupKey": "g", "alerts": [{}]}', "status must be"),
    ],
)
def test_malformed_bodies_are_refused_in_one_line(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as err:
        parse_body(body)
    assert reason in str(err.value) and "\n" not in str(err.value)
