"""Demo evidence for the plugin_load flow: a small git repo whose agents break.

History of ``demo/plugins_repo`` (times relative to the demo's end):

- 3 days ago: agents ``sre-engineer`` and ``db-doctor``, command ``/triage``, plugin
  ``oncall`` (``agentic/oncall``) with agent ``pager``: all valid;
- 1 day ago: ``db-doctor`` gets a tools list (still valid: the last good commit);
- 45 min ago: ``db-doctor``'s description gains an unquoted ``: `` (YAML fails, Claude Code
  skips the agent silently);
- 25 min ago: a new agent ``deploy-watcher`` whose name holds ``:`` (reserved).

``demo/plugin_load.log`` holds the application's view: agent load errors from the first
broken commit on. The notebook's defaults point at both (``repo`` and ``app_log`` here are
not the deploy repo and app log of ``params.yaml``, which other flows share).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pandas as pd

from runbook_lib.demo.gitrepo import git

REPO = "plugins_repo"
LOG = "plugin_load.log"
PLUGIN_PATHS = ".claude/agents,.claude/commands,.claude/skills,agentic"
BREAK_SUBJECT = "agents: explain when to call db-doctor"
NEW_AGENT_SUBJECT = "agents: add deploy-watcher"

_SRE = """---
name: sre-engineer
description: Reliability work - SLOs, error budgets and capacity. Use proactively after an incident.
tools: Read, Grep, Glob, Bash
model: sonnet
---

You are a site reliability engineer. Read the incident notes first, then propose one change at a time.
"""
_DB = """---
name: db-doctor
description: {description}
{tools}model: haiku
color: green
---

You diagnose PostgreSQL connection and lock problems. Start with pg_stat_activity.

```sql
SELECT state, count(*) FROM pg_stat_activity GROUP BY state;
```
"""
_GOOD_DB = "Diagnoses PostgreSQL connection exhaustion and lock waits."
_BAD_DB = "Use when: the API reports too many connections or lock timeouts."
_TRIAGE = """---
description: Triage the current incident from the runbook
allowed-tools: Bash(git log:*), Read, Grep
argument-hint: <incident id>
---

Summarise what changed and what the logs say for incident $ARGUMENTS.
"""
_PLUGIN = {
    "name": "oncall",
    "version": "1.0.0",
    "description": "On-call helpers",
    "author": {"name": "SRE team"},
    "keywords": ["oncall", "incident"],
}
_PAGER = """---
name: pager
description: Drafts the page and the status-page update for an incident.
model: inherit
---

Write the page in three lines: impact, since when, who is on it.
"""
_WATCHER = """---
name: deploy:watcher
description: Watches deploys and flags the ones that raise the error rate.
tools: Read, Bash
---

Compare the error rate before and after each deploy of the last two hours.
"""


def _git(repo: Path, *args: str, when: pd.Timestamp | None = None) -> str:
    return git(repo, *args, when=when, author=("Ari Agentsmith", "ari@example.com"))


def _commit(repo: Path, files: dict[str, str], subject: str, when: pd.Timestamp) -> str:
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        _git(repo, "add", rel)
    _git(repo, "commit", "-q", "-m", subject, when=when)
    return _git(repo, "rev-parse", "HEAD")


def _make_repo(repo: Path, end: pd.Timestamp) -> dict[str, str]:
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    shas = {}
    shas["initial"] = _commit(
        repo,
        {
            ".claude/agents/sre-engineer.md": _SRE,
            ".claude/agents/db-doctor.md": _DB.format(description=_GOOD_DB, tools=""),
            ".claude/commands/triage.md": _TRIAGE,
            "agentic/oncall/.claude-plugin/plugin.json": json.dumps(_PLUGIN, indent=2) + "\n",
            "agentic/oncall/agents/pager.md": _PAGER,
            "README.md": "Agents and commands for the shop's on-call.\n",
        },
        "agents: on-call agents and the triage command",
        end - pd.Timedelta(days=3),
    )
    shas["good"] = _commit(
        repo,
        {".claude/agents/db-doctor.md": _DB.format(description=_GOOD_DB, tools="tools: Read, Grep, Bash\n")},
        "agents: db-doctor may read and grep only",
        end - pd.Timedelta(days=1),
    )
    shas["break"] = _commit(
        repo,
        {".claude/agents/db-doctor.md": _DB.format(description=_BAD_DB, tools="tools: Read, Grep, Bash\n")},
        BREAK_SUBJECT,
        end - pd.Timedelta(minutes=45),
    )
    shas["new_agent"] = _commit(
        repo, {".claude/agents/deploy-watcher.md": _WATCHER}, NEW_AGENT_SUBJECT, end - pd.Timedelta(minutes=25)
    )
    return shas


def _write_log(path: Path, end: pd.Timestamp, rng: random.Random) -> int:
    lines: list[str] = []
    t = end - pd.Timedelta(hours=3)
    broken, watcher = end - pd.Timedelta(minutes=44), end - pd.Timedelta(minutes=24)
    while t < end:
        t += pd.Timedelta(seconds=rng.randint(240, 420))
        stamp = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
        records = [("info", "session", "session started")]
        if t < broken:
            records.append(("info", "agents", "loaded 3 agents, 1 command, 1 plugin"))
        else:
            records.append(
                (
                    "error",
                    "agents",
                    "Failed to parse agent .claude/agents/db-doctor.md: YAMLException: "
                    "incomplete explicit mapping pair; a key node is missed (3:19)",
                )
            )
        if t >= watcher:
            records.append(("warning", "agents", "skipping agent deploy:watcher: invalid agent name"))
        lines.extend(
            json.dumps({"time": stamp, "level": lvl, "logger": logger, "msg": msg}) for lvl, logger, msg in records
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def generate(folder: Path, end: pd.Timestamp, seed: int) -> dict[str, Any]:
    """Write ``plugins_repo/`` and ``plugin_load.log`` under *folder*; return flow parameters."""
    _make_repo(folder / REPO, end)
    _write_log(folder / LOG, end, random.Random(seed))
    return {"plugin_paths": PLUGIN_PATHS}
