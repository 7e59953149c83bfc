"""Plugin history from a real git repository: the walk back to the last commit whose tree
validates (bounded), an explicit known-good ref, each invalid file's culprit, trees read
from git objects without touching the working tree, and a path that is not a repo."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from runbook_lib.analysis.plugin_rules import tree_is_valid
from runbook_lib.sources.plugins.history import collect_culprits, collect_plugin_history, read_tree_at
from tests.sources.plugins.gitrepo import commit, init

PATHS = ".claude/agents,.claude/commands"
T0 = pd.Timestamp("2026-11-30T08:00:00Z")


def agent(name: str, description: str) -> bytes:
    return f"---\nname: {name}\ndescription: {description}\n---\n\nYou help.\n".encode()


@pytest.fixture
def repo(tmp_path: Path) -> dict[str, str]:
    path = init(tmp_path / "repo")
    shas = {"path": str(path)}
    shas["first"] = commit(path, {".claude/agents/a.md": agent("a", "First agent."), "README.md": b"hi\n"}, "add a", T0)
    shas["good"] = commit(
        path, {".claude/agents/b.md": agent("b", "Second agent.")}, "add b", T0 + pd.Timedelta(hours=1)
    )
    shas["docs"] = commit(path, {"README.md": b"docs\n"}, "docs only", T0 + pd.Timedelta(hours=2))
    shas["break"] = commit(
        path, {".claude/agents/a.md": agent("a", "Use when: down")}, "break a", T0 + pd.Timedelta(hours=3)
    )
    shas["touch"] = commit(
        path, {".claude/agents/a.md": agent("a", "Use when: really down")}, "reword a", T0 + pd.Timedelta(hours=4)
    )
    shas["new"] = commit(
        path, {".claude/agents/c.md": agent("C", "Third.")}, "add broken c", T0 + pd.Timedelta(hours=5)
    )
    return shas


def test_walks_back_to_the_last_commit_whose_tree_validates(repo: dict[str, str]) -> None:
    history = collect_plugin_history(repo["path"], PATHS, is_valid=tree_is_valid)
    assert history.status == "ok"
    assert history.meta["known_good"] == repo["good"] and history.meta["known_good_from"] == "walk"
    assert history.meta["walked"] == 4  # new, touch, break (invalid), good (valid); "docs" never touched the paths
    assert list(history.frame["sha"]) == [repo["new"], repo["touch"], repo["break"]]
    assert history.frame["committed_at"].iloc[0] == T0 + pd.Timedelta(hours=5)
    assert history.meta["name_status"] == [
        {"status": "M", "path": ".claude/agents/a.md"},
        {"status": "A", "path": ".claude/agents/c.md"},
    ]
    assert "2 files changed" in history.meta["diff_stat"]
    assert history.meta["present"] == [".claude/agents"]  # .claude/commands exists in neither tree


def test_walk_is_bounded(repo: dict[str, str]) -> None:
    history = collect_plugin_history(repo["path"], PATHS, is_valid=tree_is_valid, max_walk=2)
    assert history.status == "partial" and history.meta["known_good"] == ""
    assert history.meta["walked"] == 2 and "last 2 commits" in history.reason


def test_explicit_known_good(repo: dict[str, str]) -> None:
    history = collect_plugin_history(repo["path"], PATHS, known_good=repo["first"][:8], is_valid=tree_is_valid)
    assert history.meta["known_good"] == repo["first"] and history.meta["known_good_from"] == "parameter"
    assert len(history.frame) == 4
    bad = collect_plugin_history(repo["path"], PATHS, known_good="no-such-ref", is_valid=tree_is_valid)
    assert bad.status == "unavailable" and "rev-parse" in bad.reason


def test_culprit_of_each_invalid_file(repo: dict[str, str]) -> None:
    culprits = collect_culprits(repo["path"], [".claude/agents/a.md", ".claude/agents/c.md"], is_valid=tree_is_valid)
    frame = culprits.frame.set_index("path")
    # a.md was broken by "break a" (still broken after "reword a"), c.md arrived broken.
    assert frame.loc[".claude/agents/a.md", "sha"] == repo["break"]
    assert frame.loc[".claude/agents/a.md", "how"] == "broke"
    assert frame.loc[".claude/agents/c.md", "sha"] == repo["new"]
    assert frame.loc[".claude/agents/c.md", "how"] == "introduced"


def test_trees_are_read_from_git_not_the_working_tree(repo: dict[str, str]) -> None:
    work = Path(repo["path"]) / ".claude/agents/a.md"
    work.write_bytes(b"scribbled\n")
    tree = read_tree_at(Path(repo["path"]), repo["good"], [".claude/agents"]).set_index("path")
    assert sorted(tree.index) == [".claude/agents/a.md", ".claude/agents/b.md"]
    assert "First agent." in tree.loc[".claude/agents/a.md", "text"]
    assert work.read_bytes() == b"scribbled\n"


def test_not_a_repo(tmp_path: Path) -> None:
    history = collect_plugin_history(str(tmp_path), PATHS, is_valid=tree_is_valid)
    assert history.status == "unavailable" and "not a git repository" in history.reason
    assert collect_plugin_history("", PATHS, is_valid=tree_is_valid).status == "skipped"
