"""Plugin files read from a real tree: discovery, kinds, plugin roots, bytes facts, and a
broken world (missing repo, missing paths, a file that cannot be read)."""

from __future__ import annotations

import shutil
from pathlib import Path

from runbook_lib.sources.plugins.files import classify, collect_plugin_files, decode, split_paths

CLEAN = Path(__file__).resolve().parents[2] / "data" / "plugins" / "clean"


def test_reads_the_real_tree_with_kinds_and_plugin_roots() -> None:
    result = collect_plugin_files(str(CLEAN), ".claude/agents, .claude/commands/,.claude/skills,plugins")
    assert result.status == "ok" and result.reason == "not present: .claude/skills"
    frame = result.frame.set_index("path")
    assert frame.loc[".claude/agents/sre-engineer.md", "kind"] == "agent"
    assert frame.loc[".claude/agents/sre-engineer.md", "plugin_root"] == ""
    assert frame.loc["plugins/incident-response/agents/debugger.md", "plugin_root"] == "plugins/incident-response"
    assert frame.loc["plugins/incident-response/.claude-plugin/plugin.json", "kind"] == "plugin_manifest"
    assert frame.loc[".claude/commands/commit.md", "size_bytes"] == 2934  # byte-exact copy (PROVENANCE.md)
    assert frame.loc[".claude/commands/commit.md", "text"].startswith("---\nallowed-tools: Bash(git add:*)")
    assert len(frame) == 9


def test_classify_follows_claude_code_layout() -> None:
    assert classify("agentic/sdlc/agents/architect.md") == "agent"
    assert classify(".claude/commands/git/commit.md") == "command"
    assert classify(".claude/skills/triage/SKILL.md") == "skill"
    assert classify(".claude/skills/triage/reference.md") == ""
    assert classify(".claude/agents/notes.txt") == "" and classify("README.md") == ""
    assert classify("p/.claude-plugin/marketplace.json") == "marketplace"
    assert split_paths(" a/ ,, b ") == ["a", "b"]


def test_bytes_facts() -> None:
    facts = decode(b"\xef\xbb\xbf---\r\nname: x\r\n---\r\nbad \xfe\r\n")
    assert facts["bom"] is True and facts["crlf_lines"] == 4 and facts["bad_byte_line"] == 4
    assert str(facts["text"]).startswith("---\nname: x\n")


def test_unreadable_file_is_partial_and_named(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(CLEAN / ".claude", repo / ".claude")
    (repo / ".claude/agents/gone.md").symlink_to(repo / "nowhere.md")  # a dangling link: read fails
    result = collect_plugin_files(str(repo), ".claude/agents")
    assert result.status == "partial" and result.lines_skipped == 1
    row = result.frame.set_index("path").loc[".claude/agents/gone.md"]
    assert row["read_error"] == "No such file or directory"


def test_broken_world(tmp_path: Path) -> None:
    assert collect_plugin_files("", ".claude/agents").status == "skipped"
    missing = collect_plugin_files(str(tmp_path / "nope"), ".claude/agents")
    assert missing.status == "unavailable" and "is not a folder" in missing.reason
    empty = collect_plugin_files(str(tmp_path), ".claude/agents,agentic")
    assert empty.status == "unavailable" and "no agent, command, skill or plugin files" in empty.reason
    assert list(empty.frame.columns)[:3] == ["path", "kind", "plugin_root"]
