"""Routes: which flows an alert runs, with which parameters (``parameters/routes.yaml``).

First match wins; a route without ``match``/``match_re`` is the default. Regexes are anchored
like Alertmanager's. Values taken from labels and annotations are typed and vetted exactly
like ``-p`` overrides (unknown names and secrets refused) and only ever become parameter
values: never part of code, a path the kit builds, or a shell command.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from runbook_lib.alerts.payloads import Notification
from runbook_lib.errors import ParameterError
from runbook_lib.paths import project_root
from runbook_lib.run.params import coerce, flow_names, merge_parameters, notebook_path, read_parameters

_KEYS = {
    "name",
    "match",
    "match_re",
    "flows",
    "severity",
    "from_labels",
    "parameters",
    "from_annotations",
    "window",
    "on_resolved",
}
_SEVERITIES = ("P1", "P2", "P3", "P4")
#: Alertmanager rules usually say critical/warning; map the common words onto our scale.
_SEVERITY_WORDS = {"CRITICAL": "P1", "PAGE": "P1", "HIGH": "P2", "ERROR": "P2", "WARNING": "P3", "INFO": "P4"}


@dataclass(frozen=True)
class Route:
    name: str
    flows: tuple[str, ...]
    match: dict[str, str] = field(default_factory=dict)
    match_re: dict[str, re.Pattern[str]] = field(default_factory=dict)
    severity: str = ""
    severity_label: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    from_labels: dict[str, str] = field(default_factory=dict)
    from_annotations: dict[str, str] = field(default_factory=dict)
    window_before: pd.Timedelta | None = None
    on_resolved: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        if any(labels.get(k) != v for k, v in self.match.items()):
            return False
        return all(rx.fullmatch(labels.get(k, "")) for k, rx in self.match_re.items())


def default_routes_file() -> Path:
    return project_root() / "parameters" / "routes.yaml"


def load_routes(path: Path | None = None) -> list[Route]:
    """Read and check a routes file; raise a one-line ParameterError naming route and key."""
    import yaml

    path = path or default_routes_file()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ParameterError(f"cannot read routes file: {err.strerror}", file=str(path)) from err
    except yaml.YAMLError as err:
        raise ParameterError(f"not valid YAML ({type(err).__name__})", file=str(path)) from err
    if not isinstance(data, dict) or not isinstance(data.get("routes"), list) or not data["routes"]:
        raise ParameterError("expected 'routes:' with a non-empty list", file=str(path))
    return [_route(raw, i, str(path)) for i, raw in enumerate(data["routes"])]


def _fail(route: str, key: str, message: str, source: str) -> ParameterError:
    return ParameterError(f"route {route!r}: {message}", key=key, file=source)


def _mapping(raw: dict[str, Any], key: str, name: str, source: str) -> dict[str, str]:
    value = raw.get(key) or {}
    if not isinstance(value, dict) or not all(isinstance(v, (str, int, float)) for v in value.values()):
        raise _fail(name, key, "must be a mapping of names to strings", source)
    return {str(k): str(v) for k, v in value.items()}


def _route(raw: Any, index: int, source: str) -> Route:
    if not isinstance(raw, dict):
        raise ParameterError(f"route #{index + 1} must be a mapping", file=source)
    name = str(raw.get("name") or f"#{index + 1}")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise _fail(name, unknown[0], f"unknown key (known: {', '.join(sorted(_KEYS))})", source)
    known_flows = flow_names()
    flows = raw.get("flows")
    if not isinstance(flows, list) or not flows:
        raise _fail(name, "flows", "must be a non-empty list of flow names", source)
    on_resolved = raw.get("on_resolved") or []
    if not isinstance(on_resolved, list):
        raise _fail(name, "on_resolved", "must be a list of flow names", source)
    for key, names in (("flows", flows), ("on_resolved", on_resolved)):
        for flow in names:
            try:
                notebook_path(str(flow))
            except ParameterError as err:
                raise _fail(name, key, f"unknown flow {flow!r} (known: {', '.join(known_flows)})", source) from err
    match = _mapping(raw, "match", name, source)
    match_re: dict[str, re.Pattern[str]] = {}
    for label, pattern in _mapping(raw, "match_re", name, source).items():
        try:
            match_re[label] = re.compile(pattern)
        except re.error as err:
            raise _fail(name, "match_re", f"bad regex for {label}: {err}", source) from err
    severity = str(raw.get("severity") or "")
    if severity and severity not in _SEVERITIES:
        raise _fail(name, "severity", f"must be one of {', '.join(_SEVERITIES)}", source)
    parameters = raw.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise _fail(name, "parameters", "must be a mapping", source)
    from_labels = _mapping(raw, "from_labels", name, source)
    severity_label = from_labels.pop("severity", "") if "severity" in from_labels else ""
    from_annotations = _mapping(raw, "from_annotations", name, source)
    all_flows = [str(f) for f in flows + on_resolved]
    declared = {f: read_parameters(notebook_path(f)) for f in all_flows}
    for pname in list(parameters) + list(from_labels) + list(from_annotations):
        owners = [d[pname] for d in declared.values() if pname in d]
        if not owners:
            raise _fail(name, str(pname), f"no flow of this route declares parameter {pname!r}", source)
        if pname in parameters:
            coerce(parameters[pname], owners[0], source=source)
    window = raw.get("window") or {}
    before = None
    if window:
        if not isinstance(window, dict) or set(window) != {"before"}:
            raise _fail(name, "window", "must be {before: <duration such as 1h>}", source)
        try:
            before = pd.Timedelta(str(window["before"]))
        except ValueError as err:
            raise _fail(name, "window", f"bad duration {window['before']!r}", source) from err
    return Route(
        name=name,
        flows=tuple(notebook_path(str(f)).stem for f in flows),
        match=match,
        match_re=match_re,
        severity=severity,
        severity_label=severity_label,
        parameters={str(k): v for k, v in parameters.items()},
        from_labels=from_labels,
        from_annotations=from_annotations,
        window_before=before,
        on_resolved=tuple(notebook_path(str(f)).stem for f in on_resolved),
    )


def route_for(routes: list[Route], labels: dict[str, str]) -> Route | None:
    return next((r for r in routes if r.matches(labels)), None)


def severity_for(route: Route, notification: Notification) -> str:
    """Route severity, else the label it names (``severity`` by default): P1-P4 or critical/warning/..."""
    label = notification.labels.get(route.severity_label or "severity", "").upper()
    if route.severity:
        return route.severity
    return label if label in _SEVERITIES else _SEVERITY_WORDS.get(label, "")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def overrides_for(
    route: Route, notification: Notification, flow: str, now: pd.Timestamp | None = None
) -> list[tuple[str, str]]:
    """Parameters for one flow of *route* as ``(name, text)`` pairs, already vetted."""
    declared = read_parameters(notebook_path(flow))
    labels = notification.labels
    annotations = notification.common_annotations or (notification.alerts[0].annotations if notification.alerts else {})
    values: dict[str, str] = {}
    if route.window_before is not None and {"start", "end"} <= set(declared):
        starts = min(a.starts_at for a in notification.alerts)
        ends = [a.ends_at for a in notification.alerts if a.ends_at is not None]
        values["start"] = (starts - route.window_before).isoformat()
        values["end"] = max(ends).isoformat() if notification.all_resolved and ends else "now"
    for pname, label in route.from_labels.items():
        if pname in declared and label in labels:
            values[pname] = labels[label]
    for pname, annotation in route.from_annotations.items():
        if pname in declared and annotation in annotations:
            values[pname] = annotations[annotation]
    for pname, value in route.parameters.items():  # static start/end win over the window
        if pname in declared:
            values[pname] = _text(value)
    pairs = list(values.items())
    merge_parameters(declared, overrides=pairs)  # types and vets like -p; raises ParameterError
    return pairs
