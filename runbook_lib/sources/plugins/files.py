"""Claude Code plugin files (agents, commands, skills, plugin manifests) read as bytes.

Found under ``plugin_paths`` (comma-separated, relative to the repo): Markdown files below
a folder named ``agents``, ``commands`` or ``skills`` (only ``SKILL.md`` in the latter), and
``.claude-plugin/plugin.json`` / ``marketplace.json``. The same frame is built from the
working tree (:func:`collect_plugin_files`) or from a commit's tree (``history.py``).

Frame schema (:data:`PLUGIN_FILES_SCHEMA`), one row per file::

    path           str    path relative to the repo (posix), as Claude Code would see it
    kind           str    agent | command | skill | plugin_manifest | marketplace
    plugin_root    str    the folder holding .claude-plugin/ above the file ("" if none):
                          names are namespaced per plugin
    text           str    decoded text: BOM removed, CRLF → LF, bad bytes replaced
    size_bytes     int64
    bom            bool   the bytes start with a UTF-8 BOM
    bad_byte_line  int64  line of the first byte that is not UTF-8 (0: none)
    crlf_lines     int64  lines ending in CRLF
    read_error     str    why the file could not be read ("" if it was)

A missing repo or plugin path is not an error of the world: the paths that exist are read
and the reason names the rest; nothing found at all is ``unavailable``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

import pandas as pd

from runbook_lib.collected import Collected, conform, empty_frame, skipped
from runbook_lib.paths import resolve

__all__ = [
    "DEFAULT_PLUGIN_PATHS",
    "PLUGIN_FILES_SCHEMA",
    "classify",
    "collect_plugin_files",
    "decode",
    "files_frame",
    "split_paths",
]

SOURCE = "plugin_files"
DEFAULT_PLUGIN_PATHS = ".claude/agents,.claude/commands,.claude/skills,agentic"
PLUGIN_FILES_SCHEMA: dict[str, str] = {
    "path": "str",
    "kind": "str",
    "plugin_root": "str",
    "text": "str",
    "size_bytes": "int64",
    "bom": "bool",
    "bad_byte_line": "int64",
    "crlf_lines": "int64",
    "read_error": "str",
}
_BOM = b"\xef\xbb\xbf"
_COMPONENT_DIRS = {"agents": "agent", "commands": "command", "skills": "skill"}
_MANIFESTS = {"plugin.json": "plugin_manifest", "marketplace.json": "marketplace"}
_SKIP_DIRS = {".git", "node_modules", "__pycache__"}


def split_paths(plugin_paths: str) -> list[str]:
    """``".claude/agents, agentic"`` → ``[".claude/agents", "agentic"]`` (trailing / dropped)."""
    return [p.strip().rstrip("/") for p in str(plugin_paths).split(",") if p.strip().rstrip("/")]


def classify(path: str) -> str:
    """The kind of a repo-relative path, or "" when Claude Code would not load it."""
    parts = PurePosixPath(path).parts
    if len(parts) >= 2 and parts[-2] == ".claude-plugin" and parts[-1] in _MANIFESTS:
        return _MANIFESTS[parts[-1]]
    if not parts or not parts[-1].endswith(".md"):
        return ""
    for folder in reversed(parts[:-1]):
        kind = _COMPONENT_DIRS.get(folder)
        if kind == "skill":
            return "skill" if parts[-1] == "SKILL.md" else ""
        if kind:
            return kind
    return ""


def plugin_root(path: str, manifests: Iterable[str]) -> str:
    """The deepest plugin folder (holding ``.claude-plugin/plugin.json``) above *path*."""
    roots = [str(PurePosixPath(m).parent.parent) for m in manifests]
    above = [r for r in roots if path.startswith(r.rstrip("/") + "/") or r == "."]
    return max(above, key=len) if above else ""


def decode(data: bytes) -> dict[str, object]:
    """Text and encoding facts of one file's bytes (the frame's columns after ``path``)."""
    bom = data.startswith(_BOM)
    body = data[len(_BOM) :] if bom else data
    bad_line = 0
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        bad_line = body[: err.start].count(b"\n") + 1
        text = body.decode("utf-8", errors="replace")
    crlf = text.count("\r\n")
    return {
        "text": text.replace("\r\n", "\n"),
        "size_bytes": len(data),
        "bom": bom,
        "bad_byte_line": bad_line,
        "crlf_lines": crlf,
        "read_error": "",
    }


def files_frame(items: Iterable[tuple[str, bytes | None, str]]) -> pd.DataFrame:
    """Rows from ``(path, bytes or None, read error)``; paths are kept only if classified."""
    rows = []
    listed = [(p, d, e) for p, d, e in items if classify(p)]
    manifests = [p for p, _, _ in listed if classify(p) == "plugin_manifest"]
    for path, data, error in listed:
        row: dict[str, object] = {"path": path, "kind": classify(path), "plugin_root": plugin_root(path, manifests)}
        if data is None:
            row.update(
                text="", size_bytes=0, bom=False, bad_byte_line=0, crlf_lines=0, read_error=error or "unreadable"
            )
        else:
            row.update(decode(data))
        rows.append(row)
    if not rows:
        return empty_frame(PLUGIN_FILES_SCHEMA)
    return conform(pd.DataFrame(rows), PLUGIN_FILES_SCHEMA).sort_values("path").reset_index(drop=True)


def _walk(base: Path, start: Path) -> Iterable[tuple[str, bytes | None, str]]:
    candidates = [start] if start.is_file() else []
    for folder, dirs, names in os.walk(start):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        candidates.extend(Path(folder) / n for n in sorted(names))
    for path in candidates:
        rel = path.relative_to(base).as_posix() if path.is_relative_to(base) else path.as_posix()
        if not classify(rel):
            continue
        try:
            yield rel, path.read_bytes(), ""
        except OSError as err:
            yield rel, None, err.strerror or type(err).__name__


def read_tree(base: Path, paths: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """The plugin files under *paths* (relative to *base*) and the paths that do not exist."""
    items: list[tuple[str, bytes | None, str]] = []
    missing = []
    for rel in paths:
        start = base / rel
        if not start.exists():
            missing.append(rel)
            continue
        items.extend(_walk(base, start))
    return files_frame(items), missing


def collect_plugin_files(repo: str, plugin_paths: str = DEFAULT_PLUGIN_PATHS) -> Collected:
    """The plugin files of the working tree at *repo* (never raises on a broken world)."""
    if not str(repo).strip():
        return skipped(SOURCE, PLUGIN_FILES_SCHEMA, "no repo configured")
    base = resolve(str(repo).strip())
    paths = split_paths(plugin_paths)
    if not base.is_dir():
        return Collected(
            SOURCE, str(base), empty_frame(PLUGIN_FILES_SCHEMA), status="unavailable", reason=f"{base} is not a folder"
        )
    frame, missing = read_tree(base, paths)
    result = Collected(SOURCE, str(base), frame, lines_read=len(frame), meta={"paths": paths, "missing": missing})
    unreadable = int((frame["read_error"] != "").sum())
    if frame.empty:
        result.status = "unavailable"
        result.reason = f"no agent, command, skill or plugin files under {', '.join(paths)}"
    elif unreadable:
        result.status, result.lines_skipped = "partial", unreadable
        result.reason = f"{unreadable} file(s) could not be read"
    elif missing:
        result.reason = f"not present: {', '.join(missing)}"
    return result
