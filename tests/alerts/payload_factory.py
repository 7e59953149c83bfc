"""Alertmanager v4 bodies shaped like the captured 0.25 ones (tests/data/alerts/samples)."""

from __future__ import annotations

import hashlib
from typing import Any


def am_body(group: str, instances: list[str], *, status: str = "firing", alertname: str = "Quick") -> dict[str, Any]:
    alerts = []
    for inst in instances:
        labels = {"alertname": alertname, "instance": inst, "job": group, "severity": "warning"}
        alerts.append(
            {
                "status": status,
                "labels": labels,
                "annotations": {"summary": f"{alertname} on {group}"},
                "startsAt": "2026-11-27T05:17:16.908874814Z",
                "endsAt": "2026-11-27T05:40:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
                "generatorURL": "",
                "fingerprint": hashlib.sha256(f"{group}/{inst}".encode()).hexdigest()[:16],
            }
        )
    return {
        "receiver": "runbook",
        "status": status,
        "alerts": alerts,
        "groupLabels": {"job": group},
        "commonLabels": {"alertname": alertname, "job": group, "severity": "warning"},
        "commonAnnotations": {"summary": f"{alertname} on {group}"},
        "externalURL": "http://127.0.0.1:9093",
        "version": "4",
        "groupKey": f'{{}}:{{job="{group}"}}',
        "truncatedAlerts": 0,
    }
