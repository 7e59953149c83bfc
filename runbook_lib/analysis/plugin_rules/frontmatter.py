"""Split and read a Markdown file's YAML front matter the way Claude Code needs it.

Claude Code reads the block between a first line that is exactly ``---`` and the next
``---`` line. Most real load failures are YAML that does not parse (an unquoted ``: `` in
a description: Claude Code then skips the agent without a word) or YAML that parses into
something else (``name: yes`` is a boolean). Each is reported once, at its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from runbook_lib.analysis.plugin_rules.problems import Problem
from runbook_lib.analysis.plugin_rules.vocab import STRING_FIELDS

FENCE = "---"
# A top-level ``key: value`` line whose value is a plain (unquoted, non-block) scalar.
_TOP_LEVEL = re.compile(r"^(?P<key>[A-Za-z_][\w-]*):[ \t]+(?P<value>[^\"'|>\[{&*!#\s].*)$")
_AMBIGUOUS_TAGS = {
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:int": "a number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "a date",
}


@dataclass
class FrontMatter:
    """What was read: the mapping (``None`` if unusable), key lines and where the body starts."""

    data: dict[str, Any] | None = None
    key_lines: dict[str, int] = field(default_factory=dict)
    body: str = ""
    body_line: int = 1
    present: bool = False
    problems: list[Problem] = field(default_factory=list)
    #: Keys already reported (an ambiguous scalar): later checks leave them alone.
    reported: set[str] = field(default_factory=set)


class _DuplicateKeyLoader(yaml.SafeLoader):
    """SafeLoader that remembers duplicate keys instead of silently keeping the last one."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int, int]] = []


def _construct_mapping(loader: _DuplicateKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line
        if key in seen:
            loader.duplicates.append((str(key), seen[key], line))
        else:
            seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_DuplicateKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _problem(file: str, line: int, kind: str, rule: str, message: str, level: str = "error") -> Problem:
    return Problem(
        file=file, line=line, level="error" if level == "error" else "warning", kind=kind, rule=rule, message=message
    )


def split_front_matter(text: str, *, file: str, kind: str, required: bool) -> FrontMatter:
    """Read the front matter of *text* (BOM already removed, ``\\n`` line ends).

    *required*: a missing block is an error (agents, skills) rather than nothing (commands).
    """
    lines = text.split("\n")
    out = FrontMatter(body=text)
    if not lines or lines[0].rstrip() != FENCE:
        if required:
            first = lines[0][:40] if lines else ""
            out.problems.append(
                _problem(
                    file,
                    1,
                    kind,
                    "front-matter-missing",
                    f"no front matter: the first line must be exactly '---' (found {first!r})",
                )
            )
        return out
    out.present = True
    if lines[0] != FENCE:
        out.problems.append(
            _problem(file, 1, kind, "front-matter-fence", "trailing spaces after the opening '---'", "warning")
        )
    close = next((i for i in range(1, len(lines)) if lines[i].rstrip() == FENCE), None)
    if close is None:
        out.problems.append(
            _problem(
                file, 1, kind, "front-matter-unclosed", "front matter opened at line 1 is never closed by a '---' line"
            )
        )
        return out
    out.body = "\n".join(lines[close + 1 :])
    out.body_line = close + 2
    yaml_lines = lines[1:close]
    colon_lines = _unquoted_colons(yaml_lines, file=file, kind=kind)
    out.problems.extend(colon_lines.values())
    out.data, out.key_lines = _load(yaml_lines, file=file, kind=kind, colon_lines=set(colon_lines), out=out)
    return out


def _unquoted_colons(yaml_lines: list[str], *, file: str, kind: str) -> dict[int, Problem]:
    """Top-level plain values containing ``: ``, keyed by file line."""
    found: dict[int, Problem] = {}
    for i, line in enumerate(yaml_lines):
        match = _TOP_LEVEL.match(line)
        if not match:
            continue
        value = match["value"].rstrip()
        if ": " in value or value.endswith(":"):
            found[i + 2] = _problem(
                file,
                i + 2,
                kind,
                "unquoted-colon",
                f"unquoted ': ' in the value of '{match['key']}': YAML cannot parse it and Claude Code skips "
                "the file silently; put the value in quotes",
            )
    return found


def _load(
    yaml_lines: list[str], *, file: str, kind: str, colon_lines: set[int], out: FrontMatter
) -> tuple[dict[str, Any] | None, dict[str, int]]:
    loader = _DuplicateKeyLoader("\n".join(yaml_lines))
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 2
        # The colon check already named the real cause; YAML points at (or just after) it.
        if not colon_lines or line < min(colon_lines):
            problem = getattr(err, "problem", None) or str(err).splitlines()[0]
            out.problems.append(_problem(file, line, kind, "yaml-syntax", f"front matter is not valid YAML: {problem}"))
        return None, {}
    finally:
        loader.dispose()
    for key, first, again in loader.duplicates:
        out.problems.append(
            _problem(
                file,
                again + 2,
                kind,
                "duplicate-key",
                f"duplicate key '{key}' (first at line {first + 2}); YAML keeps only the last one",
            )
        )
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        out.problems.append(
            _problem(file, 2, kind, "front-matter-not-mapping", "front matter must be a mapping of 'key: value' lines")
        )
        return None, {}
    key_lines: dict[str, int] = {}
    assert isinstance(node, yaml.MappingNode)
    for key_node, value_node in node.value:
        key = str(key_node.value)
        key_lines.setdefault(key, key_node.start_mark.line + 2)
        ambiguous = _AMBIGUOUS_TAGS.get(value_node.tag)
        if key in STRING_FIELDS and isinstance(value_node, yaml.ScalarNode) and value_node.style is None and ambiguous:
            if value_node.tag == "tag:yaml.org,2002:null":
                continue  # an empty value: the required/empty checks say it better
            out.problems.append(
                _problem(
                    file,
                    key_node.start_mark.line + 2,
                    kind,
                    "ambiguous-scalar",
                    f"'{key}: {value_node.value}' is read by YAML as {ambiguous}, not text; quote it",
                )
            )
            out.reported.add(key)
    return data, key_lines
