"""Rules for ``.claude-plugin/plugin.json`` and ``.claude-plugin/marketplace.json``."""

from __future__ import annotations

import difflib
import json
from typing import Any

from runbook_lib.analysis.plugin_rules.problems import Level, Problem
from runbook_lib.analysis.plugin_rules.vocab import KEBAB, MARKETPLACE_FIELDS, PLUGIN_FIELDS, PLUGIN_PATH_FIELDS


class _Report:
    def __init__(self, file: str, kind: str, text: str) -> None:
        self.file, self.kind, self.lines = file, kind, text.split("\n")
        self.problems: list[Problem] = []

    def add(self, line: int, level: Level, rule: str, message: str) -> None:
        self.problems.append(Problem(self.file, line, level, self.kind, rule, message))

    def line_of(self, key: str) -> int:
        """First line that holds ``"key"``: JSON has no positions once parsed."""
        needle = json.dumps(key)
        return next((i + 1 for i, line in enumerate(self.lines) if needle in line), 1)


def check_manifest(text: str, *, file: str, kind: str) -> tuple[list[Problem], dict[str, Any]]:
    """Problems of a plugin.json / marketplace.json and the parsed object (``{}`` if unusable)."""
    report = _Report(file, kind, text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        report.add(
            err.lineno, "error", "json-syntax", f"invalid JSON: {err.msg} (line {err.lineno} column {err.colno})"
        )
        return report.problems, {}
    if not isinstance(data, dict):
        report.add(1, "error", "json-not-object", "the manifest must be a JSON object")
        return report.problems, {}
    _name(report, data)
    if kind == "plugin_manifest":
        _plugin(report, data)
    else:
        _marketplace(report, data)
    return report.problems, data


def _name(report: _Report, data: dict[str, Any]) -> None:
    name = data.get("name")
    if name is None:
        report.add(1, "error", "name-missing", "'name' is required")
    elif not isinstance(name, str) or not KEBAB.match(name):
        report.add(report.line_of("name"), "error", "name-kebab", f"name {json.dumps(name)} must be kebab-case")


def _unknown(report: _Report, data: dict[str, Any], known: frozenset[str]) -> None:
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            report.add(report.line_of(key), "warning", "unknown-field", f"unknown field '{key}'{hint}")


def _plugin(report: _Report, data: dict[str, Any]) -> None:
    _unknown(report, data, PLUGIN_FIELDS)
    if "author" in data and not isinstance(data["author"], dict):
        report.add(
            report.line_of("author"),
            "error",
            "author-object",
            'author must be an object such as {"name": "…", "email": "…"}',
        )
    if "keywords" in data and not isinstance(data["keywords"], list):
        report.add(report.line_of("keywords"), "error", "keywords-array", "keywords must be an array of strings")
    for key in PLUGIN_PATH_FIELDS:
        if key not in data or isinstance(data[key], dict):
            continue  # absent, or inline hooks/mcpServers configuration
        value = data[key]
        entries = [value] if isinstance(value, str) else value if isinstance(value, list) else None
        if entries is None or not all(isinstance(e, str) for e in entries):
            report.add(report.line_of(key), "error", "path-type", f"'{key}' must be a path string or an array of paths")
            continue
        for entry in entries:
            if not entry.startswith("./"):
                report.add(
                    report.line_of(key),
                    "error",
                    "path-relative",
                    f"'{key}' path '{entry}' must start with './' (relative to the plugin root)",
                )
            elif key == "agents" and not entry.endswith(".md"):
                report.add(
                    report.line_of(key),
                    "error",
                    "agents-md",
                    f"'agents' entry '{entry}' must name a .md file, not a directory",
                )


def _marketplace(report: _Report, data: dict[str, Any]) -> None:
    _unknown(report, data, MARKETPLACE_FIELDS)
    if not isinstance(data.get("owner"), dict):
        report.add(report.line_of("owner"), "error", "owner-object", 'owner must be an object such as {"name": "…"}')
    plugins = data.get("plugins")
    if not isinstance(plugins, list):
        report.add(report.line_of("plugins"), "error", "plugins-array", "plugins must be an array of plugin entries")
        return
    for entry in plugins:
        if not isinstance(entry, dict):
            report.add(report.line_of("plugins"), "error", "plugin-entry", "each plugins entry must be an object")
            continue
        name = entry.get("name")
        line = report.line_of(name) if isinstance(name, str) else report.line_of("plugins")
        if not isinstance(name, str) or not KEBAB.match(name):
            report.add(line, "error", "name-kebab", f"plugin entry name {json.dumps(name)} must be kebab-case")
        source = entry.get("source")
        if isinstance(source, str) and not source.startswith("./"):
            report.add(line, "error", "path-relative", f"plugin source '{source}' must start with './'")
        elif not isinstance(source, str | dict):
            report.add(line, "error", "source-missing", f"plugin entry {json.dumps(name)} has no 'source'")
