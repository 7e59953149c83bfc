"""The documented vocabulary of Claude Code's agent, command, skill and plugin files.

Written from Claude Code's published documentation (sub-agents "Supported frontmatter
fields", slash commands "Frontmatter", skills, and the plugins reference for
``plugin.json`` / ``marketplace.json``). When Claude Code documents a new field or tool,
add it here: an unknown name is only ever a warning, so a stale list never blocks CI.
"""

from __future__ import annotations

import re

#: Sub-agent front matter (``.claude/agents/*.md``, a plugin's ``agents/*.md``).
AGENT_FIELDS = frozenset(
    {
        "name", "description", "tools", "disallowedTools", "model", "permissionMode", "maxTurns",
        "skills", "mcpServers", "hooks", "memory", "background", "isolation", "color", "effort",
        "initialPrompt",
        # The plugins reference's agent example also shows "capabilities" (a list of tasks).
        "capabilities",
    }
)  # fmt: skip
#: Slash-command front matter (``.claude/commands/**/*.md``).
COMMAND_FIELDS = frozenset({"description", "allowed-tools", "argument-hint", "model", "disable-model-invocation"})
#: Skill front matter (``skills/<name>/SKILL.md``).
SKILL_FIELDS = frozenset(
    {
        "name", "description", "allowed-tools", "model", "license", "metadata", "version", "context",
        "agent", "hooks", "user-invocable", "disable-model-invocation", "argument-hint",
    }
)  # fmt: skip
#: Model aliases; a full model id (``claude-…``) is accepted too.
MODELS = frozenset({"sonnet", "opus", "haiku", "inherit"})
MODEL_ID = re.compile(r"^claude-[a-z0-9.-]+$")
#: The colours the ``/agents`` picker offers.
COLORS = frozenset({"red", "blue", "green", "yellow", "purple", "orange", "pink", "cyan"})
PERMISSION_MODES = frozenset({"default", "acceptEdits", "dontAsk", "bypassPermissions", "plan"})
#: Built-in tools as the documentation names them (MCP tools are ``mcp__<server>__<tool>``).
TOOLS = frozenset(
    {
        "Agent", "AskUserQuestion", "Bash", "BashOutput", "Edit", "ExitPlanMode", "Glob", "Grep",
        "KillBash", "KillShell", "LS", "MultiEdit", "NotebookEdit", "NotebookRead", "Read", "Skill",
        "SlashCommand", "Task", "TodoWrite", "WebFetch", "WebSearch", "Write",
    }
)  # fmt: skip
#: Fields that must be strings: a YAML plain scalar read as bool/number/null here is a bug.
STRING_FIELDS = frozenset({"name", "description", "model", "color", "argument-hint", "permissionMode", "memory"})

#: Agent and skill names: lowercase letters, digits and hyphens (``:`` is reserved for
#: plugin namespaces, a leading ``-`` reads as an option).
NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
#: Plugin and marketplace names: kebab-case starting with a letter.
KEBAB = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
#: Longest skill name and description the skills documentation allows.
SKILL_NAME_MAX = 64
SKILL_DESCRIPTION_MAX = 1024

#: plugin.json fields naming component files or folders; each string must start with ``./``.
PLUGIN_PATH_FIELDS = ("commands", "agents", "skills", "hooks", "mcpServers", "outputStyles", "lspServers")
PLUGIN_FIELDS = frozenset(
    {"name", "version", "description", "author", "homepage", "repository", "license", "keywords", *PLUGIN_PATH_FIELDS}
)
MARKETPLACE_FIELDS = frozenset({"name", "owner", "plugins", "metadata", "description", "version", "$schema"})
