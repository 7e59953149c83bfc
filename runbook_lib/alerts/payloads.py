"""Parse and validate Alertmanager (``version`` "4") and Grafana unified-alerting
(``version`` "1") webhook bodies into one :class:`Notification`.

They share the Alertmanager shape; Grafana adds ``orgId``, ``title``, ``state`` and per-alert
``values``/``dashboardURL``. Both are told apart by their fields, not by a header. Older or
trimmed senders omit ``fingerprint`` or per-alert ``status``: those are derived, not refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from runbook_lib.errors import RunbookError

#: Alertmanager's "zero" endsAt means "still firing"; anything before 1970 is that.
_ZERO_TIME_PREFIX = "0001-01-01"


class PayloadError(RunbookError):
    """A webhook body we cannot use; the message is one line naming what was wrong."""


@dataclass(frozen=True)
class Alert:
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: pd.Timestamp
    ends_at: pd.Timestamp | None
    fingerprint: str
    generator_url: str = ""

    @property
    def key(self) -> str:
        """Dedupe key: the same alert episode sent twice (HA pair, retries) has one key."""
        return f"{self.fingerprint}@{self.starts_at.isoformat()}"


@dataclass(frozen=True)
class Notification:
    kind: str  # "alertmanager" or "grafana"
    status: str  # "firing" or "resolved"
    group_key: str
    receiver: str
    group_labels: dict[str, str]
    common_labels: dict[str, str]
    common_annotations: dict[str, str]
    alerts: list[Alert] = field(default_factory=list)
    title: str = ""

    @property
    def labels(self) -> dict[str, str]:
        """Labels to route on: the common labels, else the first alert's."""
        if self.common_labels:
            return self.common_labels
        return self.alerts[0].labels if self.alerts else {}

    @property
    def firing(self) -> list[Alert]:
        return [a for a in self.alerts if a.status == "firing"]

    @property
    def all_resolved(self) -> bool:
        return self.status == "resolved" and not self.firing


def parse_body(body: bytes) -> tuple[Notification, dict[str, Any]]:
    """Decode *body* (UTF-8 JSON) and validate it; return the notification and the raw object."""
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise PayloadError(f"body is not UTF-8 (byte {err.start})") from err
    except json.JSONDecodeError as err:
        raise PayloadError(f"malformed JSON: {err.msg} at line {err.lineno} column {err.colno}") from err
    return parse_payload(data), data


def parse_payload(data: Any) -> Notification:
    if not isinstance(data, dict):
        raise PayloadError(f"expected a JSON object, got {type(data).__name__}")
    version = data.get("version")
    if version == "4":
        kind = "alertmanager"
    elif version == "1" and ("orgId" in data or "state" in data or "title" in data):
        kind = "grafana"
    else:
        raise PayloadError(f"unknown schema version {version!r} (Alertmanager sends '4', Grafana '1')")
    status = _required_str(data, "status")
    if status not in ("firing", "resolved"):
        raise PayloadError(f"status must be 'firing' or 'resolved', got {status!r}")
    alerts_raw = data.get("alerts")
    if not isinstance(alerts_raw, list) or not alerts_raw:
        raise PayloadError("missing field 'alerts' (a non-empty list)")
    group_key = data.get("groupKey")
    if not isinstance(group_key, str) or not group_key:
        raise PayloadError("missing field 'groupKey'")
    alerts = [_alert(a, i, status) for i, a in enumerate(alerts_raw)]
    return Notification(
        kind=kind,
        status=status,
        group_key=group_key,
        receiver=str(data.get("receiver") or ""),
        group_labels=_str_map(data.get("groupLabels"), "groupLabels"),
        common_labels=_str_map(data.get("commonLabels"), "commonLabels"),
        common_annotations=_str_map(data.get("commonAnnotations"), "commonAnnotations"),
        alerts=alerts,
        title=str(data.get("title") or ""),
    )


def _required_str(data: dict[str, Any], key: str, where: str = "") -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise PayloadError(f"missing field {where}{key!r}")
    return value


def _str_map(value: Any, name: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"{name} must be an object of strings")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _time(value: Any, name: str) -> pd.Timestamp | None:
    if value in (None, "") or (isinstance(value, str) and value.startswith(_ZERO_TIME_PREFIX)):
        return None
    try:
        ts = pd.Timestamp(str(value))
    except (ValueError, TypeError) as err:
        raise PayloadError(f"{name} is not an RFC 3339 time: {str(value)[:40]!r}") from err
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _alert(raw: Any, index: int, group_status: str) -> Alert:
    where = f"alerts[{index}]."
    if not isinstance(raw, dict):
        raise PayloadError(f"alerts[{index}] must be an object")
    labels = _str_map(raw.get("labels"), where + "labels")
    if not labels:
        raise PayloadError(f"missing field {where}labels")
    starts = _time(raw.get("startsAt"), where + "startsAt")
    if starts is None:
        raise PayloadError(f"missing field {where}startsAt")
    ends = _time(raw.get("endsAt"), where + "endsAt")
    status = raw.get("status") or group_status  # trimmed senders omit it
    if status not in ("firing", "resolved"):
        raise PayloadError(f"{where}status must be 'firing' or 'resolved'")
    fingerprint = raw.get("fingerprint")
    if not isinstance(fingerprint, str) or not fingerprint:
        canon = json.dumps(sorted(labels.items()))
        fingerprint = hashlib.sha256(canon.encode()).hexdigest()[:16]
    return Alert(
        status=str(status),
        labels=labels,
        annotations=_str_map(raw.get("annotations"), where + "annotations"),
        starts_at=starts,
        ends_at=ends,
        fingerprint=fingerprint,
        generator_url=str(raw.get("generatorURL") or ""),
    )
