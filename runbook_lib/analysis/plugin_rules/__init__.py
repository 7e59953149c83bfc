"""Claude Code plugin file validation: pure rules over the plugin-files frame.

:func:`validate_files` takes the frame ``sources.plugins.files`` reads (one row per file:
``path``, ``kind``, ``text``, ``bom``, ``bad_byte_line``, ``crlf_lines``, ``read_error``) and
returns one row per problem (:data:`PROBLEM_COLUMNS`). Rules live in one module per file
type: ``frontmatter`` (the YAML block), ``markdown`` (agents, commands, skills, bodies),
``manifest`` (plugin.json, marketplace.json); ``vocab`` holds the documented lists.
"""

from __future__ import annotations

import functools
import types
from typing import Any

import pandas as pd

from runbook_lib.analysis.plugin_rules.manifest import check_manifest
from runbook_lib.analysis.plugin_rules.markdown import check_markdown
from runbook_lib.analysis.plugin_rules.problems import PROBLEM_COLUMNS, Problem

__all__ = ["PROBLEM_COLUMNS", "Problem", "problems_frame", "tree_is_valid", "validate_files"]

MARKDOWN_KINDS = ("agent", "command", "skill")
MANIFEST_KINDS = ("plugin_manifest", "marketplace")


def _file_problems(row: Any) -> tuple[list[Problem], dict[str, Any]]:
    found, name = _cached_file_problems(
        str(row.path), str(row.kind), str(row.text), bool(row.bom), int(row.bad_byte_line), int(row.crlf_lines),
        str(row.read_error),
    )  # fmt: skip
    return list(found), {"name": name} if name is not None else {}


# The walk back validates many trees that share most of their files: a file's problems
# depend only on its path and bytes, so each version is checked once.
@functools.lru_cache(maxsize=8192)
def _cached_file_problems(
    file: str, kind: str, text: str, bom: bool, bad_byte_line: int, crlf_lines: int, read_error: str
) -> tuple[tuple[Problem, ...], str | None]:
    row = types.SimpleNamespace(
        path=file, kind=kind, text=text, bom=bom, bad_byte_line=bad_byte_line, crlf_lines=crlf_lines,
        read_error=read_error,
    )  # fmt: skip
    found, data = _check_file(row)
    name = data.get("name")
    return tuple(found), name if isinstance(name, str) else None


def _check_file(row: Any) -> tuple[list[Problem], dict[str, Any]]:
    file, kind = str(row.path), str(row.kind)
    if row.read_error:
        return [Problem(file, 1, "error", kind, "unreadable", f"cannot read the file: {row.read_error}")], {}
    problems: list[Problem] = []
    if int(row.bad_byte_line):
        problems.append(
            Problem(
                file, int(row.bad_byte_line), "error", kind, "utf8", "not valid UTF-8 (first bad byte on this line)"
            )
        )
    if bool(row.bom):
        problems.append(
            Problem(
                file,
                1,
                "error",
                kind,
                "bom",
                "starts with a UTF-8 byte order mark, so the first line is not '---' to Claude Code; save without BOM",
            )
        )
    if int(row.crlf_lines):
        problems.append(
            Problem(file, 1, "warning", kind, "crlf", f"{int(row.crlf_lines)} lines end in CRLF; use LF line endings")
        )
    check = check_markdown if kind in MARKDOWN_KINDS else check_manifest
    found, data = check(str(row.text), file=file, kind=kind)
    return problems + found, data


def validate_files(files: pd.DataFrame) -> list[Problem]:
    """Every problem of every file, plus names defined twice (both files named, reported once)."""
    problems: list[Problem] = []
    names: dict[tuple[str, str, str], tuple[str, int]] = {}
    for row in files.sort_values("path").itertuples(index=False):
        found, data = _file_problems(row)
        problems.extend(found)
        name = data.get("name")
        if row.kind in ("agent", "skill") and isinstance(name, str) and name:
            scope = (str(row.plugin_root), str(row.kind), name)
            line = _line_of_name(str(row.text))
            if scope in names:
                first, first_line = names[scope]
                problems.append(
                    Problem(
                        str(row.path),
                        line,
                        "error",
                        str(row.kind),
                        "name-duplicate",
                        f"{row.kind!s} name '{name}' is also defined in {first}:{first_line}; only one of them loads",
                    )
                )
            else:
                names[scope] = (str(row.path), line)
    return problems


def _line_of_name(text: str) -> int:
    return next((i + 1 for i, line in enumerate(text.split("\n")) if line.startswith("name:")), 1)


def problems_frame(problems: list[Problem]) -> pd.DataFrame:
    """Problems as a frame ordered by file and line (errors before warnings on a line)."""
    frame = pd.DataFrame([p.to_dict() for p in problems], columns=list(PROBLEM_COLUMNS))
    frame["line"] = frame["line"].astype("int64")
    return frame.sort_values(["file", "line", "level"]).reset_index(drop=True)


def tree_is_valid(files: pd.DataFrame) -> bool:
    """True when no file has an error (warnings do not stop Claude Code loading a file)."""
    return not any(p.level == "error" for p in validate_files(files))
