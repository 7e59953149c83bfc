"""Rules for agent, command and skill Markdown files (front matter fields and body)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

from runbook_lib.analysis.plugin_rules.frontmatter import FrontMatter, split_front_matter
from runbook_lib.analysis.plugin_rules.problems import Level, Problem
from runbook_lib.analysis.plugin_rules.vocab import (
    AGENT_FIELDS,
    COLORS,
    COMMAND_FIELDS,
    MODEL_ID,
    MODELS,
    NAME,
    PERMISSION_MODES,
    SKILL_DESCRIPTION_MAX,
    SKILL_FIELDS,
    SKILL_NAME_MAX,
    TOOLS,
)

_FENCE_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_TOOL = re.compile(r"^(?P<name>[A-Za-z_][\w-]*)(?:\((?P<spec>.*)\))?$")


class _Report:
    def __init__(self, file: str, kind: str, fm: FrontMatter) -> None:
        self.file, self.kind, self.fm = file, kind, fm
        self.problems: list[Problem] = []

    def add(self, line: int, level: Level, rule: str, message: str) -> None:
        self.problems.append(Problem(self.file, line, level, self.kind, rule, message))

    def line_of(self, key: str) -> int:
        return self.fm.key_lines.get(key, 1)


def check_markdown(text: str, *, file: str, kind: str) -> tuple[list[Problem], dict[str, Any]]:
    """Problems of one agent/command/skill file and its front matter (``{}`` if unusable)."""
    fm = split_front_matter(text, file=file, kind=kind, required=kind != "command")
    report = _Report(file, kind, fm)
    report.problems.extend(fm.problems)
    data = fm.data or {}
    # A command may have no front matter at all; then its (absent) fields are still checked.
    usable = fm.data is not None or (kind == "command" and not fm.present)
    if usable:
        if kind == "agent":
            _agent(report, data)
        elif kind == "command":
            _command(report, data)
        else:
            _skill(report, data)
    if fm.present or kind == "command":
        _fences(report, fm.body, fm.body_line)
    return report.problems, data if usable else {}


def _unknown_fields(report: _Report, data: dict[str, Any], known: Iterable[str]) -> None:
    known = sorted(known)
    for key in data:
        if str(key) in known or str(key) == "name" and report.kind == "command":
            continue
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        report.add(report.line_of(str(key)), "warning", "unknown-field", f"unknown field '{key}' (ignored){hint}")


def _required_text(report: _Report, data: dict[str, Any], key: str) -> str | None:
    if key in report.fm.reported:
        return None
    if key not in data:
        report.add(1, "error", f"{key}-missing", f"'{key}' is required in {report.kind} front matter")
        return None
    value = data[key]
    if value is None or (isinstance(value, str) and not value.strip()):
        report.add(report.line_of(key), "error", f"{key}-empty", f"'{key}' is empty")
        return None
    if not isinstance(value, str):
        report.add(report.line_of(key), "error", f"{key}-type", f"'{key}' must be text, not {type(value).__name__}")
        return None
    return value


def _name(report: _Report, name: str, *, max_len: int = 0) -> None:
    line = report.line_of("name")
    if ":" in name:
        report.add(line, "error", "name-colon", f"name '{name}' contains ':' (reserved for plugin namespaces)")
    elif name.startswith("-"):
        report.add(line, "error", "name-leading-hyphen", f"name '{name}' starts with '-'")
    elif not NAME.match(name):
        report.add(line, "error", "name-pattern", f"name '{name}' must be lowercase letters, digits and hyphens")
    elif max_len and len(name) > max_len:
        report.add(line, "error", "name-length", f"name '{name}' is longer than {max_len} characters")


def _agent(report: _Report, data: dict[str, Any]) -> None:
    name = _required_text(report, data, "name")
    if name is not None:
        _name(report, name)
    _required_text(report, data, "description")
    _unknown_fields(report, data, AGENT_FIELDS)
    for key in ("tools", "disallowedTools"):
        if key in data:
            _tools(report, key, data[key])
    model = data.get("model")
    if isinstance(model, str) and model not in MODELS and not MODEL_ID.match(model):
        report.add(
            report.line_of("model"),
            "error",
            "model-unknown",
            f"model '{model}' is not one of {', '.join(sorted(MODELS))} or a claude-… model id",
        )
    color = data.get("color")
    if isinstance(color, str) and color not in COLORS:
        close = difflib.get_close_matches(color, sorted(COLORS), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        report.add(
            report.line_of("color"),
            "warning",
            "color-unknown",
            f"color '{color}' is not one of {', '.join(sorted(COLORS))}{hint}",
        )
    mode = data.get("permissionMode")
    if isinstance(mode, str) and mode not in PERMISSION_MODES:
        report.add(
            report.line_of("permissionMode"),
            "warning",
            "permission-mode-unknown",
            f"permissionMode '{mode}' is not one of {', '.join(sorted(PERMISSION_MODES))}",
        )
    if not report.fm.body.strip():
        report.add(report.fm.body_line, "warning", "body-empty", "the body (the agent's system prompt) is empty")


def _command(report: _Report, data: dict[str, Any]) -> None:
    if "name" in data:
        report.add(
            report.line_of("name"),
            "warning",
            "command-name-ignored",
            "'name' is ignored in command files: the command is named after its file",
        )
    description = data.get("description")
    if "description" not in report.fm.reported and not (isinstance(description, str) and description.strip()):
        report.add(
            report.line_of("description"),
            "warning",
            "command-description",
            "no 'description': recommended, the model cannot invoke a command without one",
        )
    _unknown_fields(report, data, COMMAND_FIELDS)
    if "allowed-tools" in data:
        _tools(report, "allowed-tools", data["allowed-tools"])
    model = data.get("model")
    if isinstance(model, str) and model not in MODELS and not MODEL_ID.match(model):
        report.add(report.line_of("model"), "error", "model-unknown", f"model '{model}' is not a documented model")


def _skill(report: _Report, data: dict[str, Any]) -> None:
    name = _required_text(report, data, "name")
    if name is not None:
        _name(report, name, max_len=SKILL_NAME_MAX)
    description = _required_text(report, data, "description")
    if description is not None and len(description) > SKILL_DESCRIPTION_MAX:
        report.add(
            report.line_of("description"),
            "error",
            "description-length",
            f"description is {len(description)} characters (at most {SKILL_DESCRIPTION_MAX})",
        )
    _unknown_fields(report, data, SKILL_FIELDS)
    if "allowed-tools" in data:
        _tools(report, "allowed-tools", data["allowed-tools"])


def split_tools(value: str) -> list[str]:
    """Split ``Read, Bash(git add:*), Bash(npm run test, lint)`` on commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for char in value:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return parts


def _tools(report: _Report, key: str, value: Any) -> None:
    line = report.line_of(key)
    if isinstance(value, str):
        entries = split_tools(value)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        entries = [v.strip() for v in value]
    else:
        report.add(line, "error", "tools-type", f"'{key}' must be a comma-separated string or a list of tool names")
        return
    for entry in entries:
        if not entry:
            report.add(line, "error", "tools-syntax", f"'{key}' has an empty entry (a stray comma?)")
            continue
        match = _TOOL.match(entry)
        if match is None or entry.count("(") != entry.count(")"):
            report.add(line, "error", "tools-syntax", f"'{key}' entry '{entry}' is not 'Tool' or 'Tool(pattern)'")
            continue
        name = match["name"]
        if name not in TOOLS and not name.startswith("mcp__"):
            close = difflib.get_close_matches(name, sorted(TOOLS), n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            report.add(line, "warning", "tool-unknown", f"'{key}' names unknown tool '{name}'{hint}")


def _fences(report: _Report, body: str, first_line: int) -> None:
    """An unclosed ``` fence turns the rest of the prompt into one code block."""
    open_fence, open_line = "", 0
    for offset, line in enumerate(body.split("\n")):
        match = _FENCE_OPEN.match(line)
        if not match:
            continue
        fence = match["fence"]
        if not open_fence:
            if fence[0] == "`" and "`" in match["info"]:
                continue  # ```inline``` on one line is not a fence
            open_fence, open_line = fence, first_line + offset
        elif fence[0] == open_fence[0] and len(fence) >= len(open_fence) and not match["info"].strip():
            open_fence = ""
    if open_fence:
        report.add(
            open_line, "warning", "code-fence-unclosed", f"code fence '{open_fence}' opened here is never closed"
        )
