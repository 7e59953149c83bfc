"""Deploy history from a real git repository built in a temporary folder."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from runbook_lib.sources.deploys import DEPLOY_SCHEMA, collect_deploys

HOSTILE_SUBJECT = "fix:\tquote \" and ' and `tick` — naïve café ✓ <script>alert(1)</script>"


def _git(repo: Path, *args: str, when: str | None = None) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ada Lovelace",
        "GIT_AUTHOR_EMAIL": "ada@example.org",
        "GIT_COMMITTER_NAME": "Deploy Bot",
        "GIT_COMMITTER_EMAIL": "bot@example.org",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    if when:
        env["GIT_AUTHOR_DATE"] = when
        env["GIT_COMMITTER_DATE"] = when
    done = subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, check=True, timeout=30)
    return done.stdout.decode().strip()


def _commit(repo: Path, name: str, lines: int, message: str, when: str) -> str:
    (repo / name).write_text("".join(f"line {i}\n" for i in range(lines)), encoding="utf-8")
    _git(repo, "add", name)
    _git(repo, "commit", "-q", "-m", message, when=when)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """main: c1 (08:00) - c2 (09:00, tagged) - merge of feature (10:30) - hostile (11:00).

    The feature branch has two commits (10:00, 10:10) that must not show as deploys.
    """
    path = tmp_path_factory.mktemp("repo")
    _git(path, "init", "-q", "-b", "main")
    shas: dict[str, str] = {}
    shas["c1"] = _commit(path, "a.txt", 3, "initial service", "2026-03-01T08:00:00+00:00")
    shas["c2"] = _commit(path, "b.txt", 5, "add cache", "2026-03-01T09:00:00+00:00")
    _git(path, "tag", "-a", "v1.2.0", "-m", "release 1.2.0", when="2026-03-01T09:01:00+00:00")
    _git(path, "tag", "release-42")
    _git(path, "checkout", "-q", "-b", "feature")
    shas["f1"] = _commit(path, "c.txt", 7, "feature part 1", "2026-03-01T10:00:00+00:00")
    shas["f2"] = _commit(path, "d.txt", 2, "feature part 2", "2026-03-01T10:10:00+00:00")
    _git(path, "checkout", "-q", "main")
    _git(
        path,
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge feature (#7)",
        "feature",
        when="2026-03-01T10:30:00+00:00",
    )
    shas["merge"] = _git(path, "rev-parse", "HEAD")
    # A commit made in another timezone: the committer date is still compared in UTC.
    shas["hostile"] = _commit(path, "a.txt", 1, HOSTILE_SUBJECT, "2026-03-01T12:00:00+01:00")
    return {"path": path, "shas": shas}


def test_first_parent_history_newest_first_with_stats_and_tags(repo: dict[str, object]) -> None:
    shas = repo["shas"]
    assert isinstance(shas, dict)
    got = collect_deploys(str(repo["path"]), since=pd.Timestamp("2026-03-01T00:00:00Z"))
    assert got.status == "ok", got.reason
    frame = got.frame
    assert list(frame.columns) == list(DEPLOY_SCHEMA)
    assert {c: str(t) for c, t in frame.dtypes.items()} == DEPLOY_SCHEMA
    # Feature-branch commits are not deploys; the merge is, with the feature's whole diff.
    assert list(frame["sha"]) == [shas["hostile"], shas["merge"], shas["c2"], shas["c1"]]
    merge = frame.iloc[1]
    assert merge["subject"] == "Merge feature (#7)"
    assert (merge["files_changed"], merge["insertions"], merge["deletions"]) == (2, 9, 0)
    hostile = frame.iloc[0]
    assert hostile["subject"] == HOSTILE_SUBJECT
    assert (hostile["files_changed"], hostile["insertions"], hostile["deletions"]) == (1, 0, 2)
    assert hostile["deployed_at"] == pd.Timestamp("2026-03-01T11:00:00Z")
    assert hostile["author"] == "Ada Lovelace"
    assert shas["hostile"].startswith(hostile["short_sha"]) and len(hostile["short_sha"]) >= 7
    assert set(frame.iloc[2]["tags"].split(",")) == {"v1.2.0", "release-42"}
    assert frame.iloc[0]["tags"] == "" and frame.iloc[3]["tags"] == ""
    assert (frame.iloc[3]["files_changed"], frame.iloc[3]["insertions"]) == (1, 3)
    assert got.lines_read == 4


def test_window_is_inclusive_and_uses_committer_date(repo: dict[str, object]) -> None:
    shas = repo["shas"]
    assert isinstance(shas, dict)
    got = collect_deploys(
        str(repo["path"]),
        since=pd.Timestamp("2026-03-01T09:00:00Z"),
        until=pd.Timestamp("2026-03-01T10:30:00Z"),
    )
    assert got.status == "ok"
    assert list(got.frame["sha"]) == [shas["merge"], shas["c2"]]
    # Naive timestamps mean UTC.
    naive = collect_deploys(str(repo["path"]), since=pd.Timestamp("2026-03-01T10:59:59"), until=None)
    assert list(naive.frame["sha"]) == [shas["hostile"]]


def test_empty_window_is_ok_and_empty(repo: dict[str, object]) -> None:
    got = collect_deploys(str(repo["path"]), since=pd.Timestamp("2027-01-01T00:00:00Z"))
    assert got.status == "ok"
    assert got.frame.empty and list(got.frame.columns) == list(DEPLOY_SCHEMA)
    assert got.reason == "no commits in the window"


def test_max_commits_keeps_newest_and_marks_partial(repo: dict[str, object]) -> None:
    shas = repo["shas"]
    assert isinstance(shas, dict)
    got = collect_deploys(str(repo["path"]), since=pd.Timestamp("2026-01-01T00:00:00Z"), max_commits=2)
    assert got.status == "partial"
    assert list(got.frame["sha"]) == [shas["hostile"], shas["merge"]]
    assert "more than 2 commits" in got.reason


def test_empty_repo_parameter_is_skipped() -> None:
    got = collect_deploys("", since=pd.Timestamp("2026-01-01T00:00:00Z"))
    assert got.status == "skipped"
    assert list(got.frame.columns) == list(DEPLOY_SCHEMA) and got.frame.empty


def test_missing_folder_is_unavailable(tmp_path: Path) -> None:
    got = collect_deploys(str(tmp_path / "nope"), since=pd.Timestamp("2026-01-01T00:00:00Z"))
    assert got.status == "unavailable"
    assert "no such folder" in got.reason and "\n" not in got.reason
    assert got.frame.empty and list(got.frame.columns) == list(DEPLOY_SCHEMA)


def test_folder_that_is_not_a_repo_is_unavailable(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    got = collect_deploys(str(plain), since=pd.Timestamp("2026-01-01T00:00:00Z"))
    assert got.status == "unavailable"
    assert "not a git repository" in got.reason and "\n" not in got.reason
    assert got.frame.empty


def test_plain_folder_inside_a_repo_does_not_borrow_its_history(
    repo: dict[str, object],
) -> None:
    path = repo["path"]
    assert isinstance(path, Path)
    inner = path / "not-a-checkout"
    inner.mkdir(exist_ok=True)
    got = collect_deploys(str(inner), since=pd.Timestamp("2026-01-01T00:00:00Z"))
    assert got.status == "unavailable"
    assert "not a git repository" in got.reason


def test_file_instead_of_folder_is_unavailable(tmp_path: Path) -> None:
    file = tmp_path / "repo.txt"
    file.write_text("not a repo", encoding="utf-8")
    got = collect_deploys(str(file), since=pd.Timestamp("2026-01-01T00:00:00Z"))
    assert got.status == "unavailable" and "not a folder" in got.reason


def test_repo_without_commits_is_unavailable_with_reason(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q", "-b", "main")
    got = collect_deploys(str(tmp_path), since=pd.Timestamp("2026-01-01T00:00:00Z"))
    assert got.status == "unavailable"
    assert "no commits" in got.reason


def test_relative_path_resolves_against_project_root(repo: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    path = repo["path"]
    assert isinstance(path, Path)
    monkeypatch.setenv("RUNBOOK_HOME", str(path.parent))
    got = collect_deploys(path.name, since=pd.Timestamp("2026-03-01T00:00:00Z"))
    assert got.status == "ok" and len(got.frame) == 4
    assert got.target == str(path)


def test_git_timeout_is_unavailable_and_bounded(repo: dict[str, object]) -> None:
    t0 = time.perf_counter()
    got = collect_deploys(str(repo["path"]), since=pd.Timestamp("2026-01-01T00:00:00Z"), timeout_s=0.000001)
    assert time.perf_counter() - t0 < 5
    assert got.status == "unavailable"
    assert "did not finish within" in got.reason
