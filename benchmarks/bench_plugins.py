"""Plugin validation and the git walk back, timed on generated trees.

Usage::

    python benchmarks/bench_plugins.py [--agents 2000] [--commits 50]

Prints: files validated per second (the ``validate-plugins`` CI step on a large agent
collection), and the time of a walk back over ``--commits`` broken commits to the last
valid one (the notebook's default ``max_walk``), each tree read from git objects.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from runbook_lib.analysis.plugin_rules import tree_is_valid, validate_files
from runbook_lib.sources.plugins.files import read_tree
from runbook_lib.sources.plugins.history import collect_plugin_history

AGENT = (
    "---\nname: agent-{i}\ndescription: Helps with task {i}.\ntools: Read, Grep, Bash(git log:*)\n"
    "model: sonnet\n---\n\n{body}"
)
BODY = "You are a focused helper.\n\n```bash\ngit log --oneline -5\n```\n" * 20


def git(repo: Path, *args: str) -> None:
    env = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@example.com", "PATH": "/usr/bin:/bin", "HOME": str(repo)}  # fmt: skip
    subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--commits", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        agents = repo / ".claude" / "agents"
        agents.mkdir(parents=True)
        for i in range(args.agents):
            (agents / f"agent-{i}.md").write_text(AGENT.format(i=i, body=BODY), encoding="utf-8")
        t0 = time.perf_counter()
        frame, _ = read_tree(repo, [".claude/agents"])
        problems = validate_files(frame)
        elapsed = time.perf_counter() - t0
        print(
            f"validate: {len(frame)} files in {elapsed:.2f} s ({len(frame) / elapsed:,.0f} files/s), "
            f"{len(problems)} problems"
        )

        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", ".")
        git(repo, "commit", "-q", "-m", "good")
        broken = agents / "agent-0.md"
        for n in range(args.commits - 1):
            broken.write_text(f"---\nname: agent-0\ndescription: Use when: case {n}\n---\n\nx\n", encoding="utf-8")
            git(repo, "commit", "-q", "-am", f"break {n}")
        t0 = time.perf_counter()
        history = collect_plugin_history(str(repo), ".claude/agents", is_valid=tree_is_valid, max_walk=args.commits)
        elapsed = time.perf_counter() - t0
        print(f"walk back: {history.meta['walked']} commits x {len(frame)} files in {elapsed:.2f} s, "
              f"known-good found: {bool(history.meta['known_good'])}")  # fmt: skip


if __name__ == "__main__":
    main()
