"""Plugin validation rules: each documented defect reported once, at its file and line; the
real samples (tests/data/plugins/clean) pass."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from runbook_lib.analysis.plugin_rules import Problem, tree_is_valid, validate_files
from runbook_lib.analysis.plugins import detect_plugin_problems, invalid_files, list_components, summarise_load_log
from runbook_lib.sources.plugins.files import files_frame, read_tree

DATA = Path(__file__).resolve().parents[1] / "data" / "plugins"
CLEAN = DATA / "clean"
AGENT = ".claude/agents/sre-engineer.md"
COMMAND = ".claude/commands/commit.md"
MANIFEST = "plugins/incident-response/.claude-plugin/plugin.json"


def real(rel: str) -> bytes:
    return (CLEAN / rel).read_bytes()


def agent(front: str, body: str = "\nYou are an SRE.\n") -> bytes:
    return f"---\n{front}---\n{body}".encode()


def check(files: dict[str, bytes | None]) -> list[Problem]:
    return validate_files(files_frame([(p, b, "" if b is not None else "Permission denied") for p, b in files.items()]))


def test_real_clean_tree_has_no_problem() -> None:
    frame, missing = read_tree(CLEAN, [".claude/agents", ".claude/commands", "plugins"])
    assert missing == [] and len(frame) == 9
    assert set(frame["kind"]) == {"agent", "command", "plugin_manifest"}
    assert validate_files(frame) == []
    assert tree_is_valid(frame)


def test_real_command_without_front_matter_only_warns() -> None:
    frame, _ = read_tree(DATA / "warning", ["commands"])
    problems = validate_files(frame)
    assert [(p.file, p.line, p.level, p.rule) for p in problems] == [
        ("commands/smart-debug.md", 1, "warning", "command-description")
    ]
    assert tree_is_valid(frame)


GOOD = "name: sre-engineer\ndescription: Reliability work.\n"
CASES = [
    # (id, path, content, level, rule, line, words in message)
    (
        "no-front-matter",
        AGENT,
        b"You are an SRE.\n",
        "error",
        "front-matter-missing",
        1,
        "first line must be exactly '---'",
    ),
    (
        "unclosed",
        AGENT,
        b"---\nname: sre\ndescription: x\n\nYou are an SRE.\n",
        "error",
        "front-matter-unclosed",
        1,
        "never closed",
    ),
    ("yaml", AGENT, agent(GOOD + "tools: [Read, Grep\n"), "error", "yaml-syntax", 4, "not valid YAML"),
    (
        "duplicate-key",
        AGENT,
        agent(GOOD + "model: sonnet\nmodel: opus\n"),
        "error",
        "duplicate-key",
        5,
        "first at line 4",
    ),
    (
        "name-yes",
        AGENT,
        agent("name: yes\ndescription: Reliability work.\n"),
        "error",
        "ambiguous-scalar",
        2,
        "a boolean",
    ),
    (
        "name-3000",
        AGENT,
        agent("name: 3000\ndescription: Reliability work.\n"),
        "error",
        "ambiguous-scalar",
        2,
        "a number",
    ),
    (
        "unquoted-colon",
        AGENT,
        agent("name: sre\ndescription: Use when: the API is down\n"),
        "error",
        "unquoted-colon",
        3,
        "put the value in quotes",
    ),
    (
        "name-missing",
        AGENT,
        agent("description: Reliability work.\n"),
        "error",
        "name-missing",
        1,
        "'name' is required",
    ),
    (
        "description-missing",
        AGENT,
        agent("name: sre\n"),
        "error",
        "description-missing",
        1,
        "'description' is required",
    ),
    ("name-pattern", AGENT, agent("name: SRE_Engineer\ndescription: x\n"), "error", "name-pattern", 2, "lowercase"),
    (
        "name-colon",
        AGENT,
        agent("name: ops:sre\ndescription: x\n"),
        "error",
        "name-colon",
        2,
        "reserved for plugin namespaces",
    ),
    ("name-hyphen", AGENT, agent("name: -sre\ndescription: x\n"), "error", "name-leading-hyphen", 2, "starts with '-'"),
    ("unknown-field", AGENT, agent(GOOD + "modle: sonnet\n"), "warning", "unknown-field", 4, "did you mean 'model'?"),
    ("tool-unknown", AGENT, agent(GOOD + "tools: Read, Grepp\n"), "warning", "tool-unknown", 4, "did you mean 'Grep'?"),
    ("tools-syntax", AGENT, agent(GOOD + "tools: Read, Bash(git:*\n"), "error", "tools-syntax", 4, "'Tool(pattern)'"),
    ("model", AGENT, agent(GOOD + "model: gpt-4\n"), "error", "model-unknown", 4, "gpt-4"),
    ("color", AGENT, agent(GOOD + "color: purpel\n"), "warning", "color-unknown", 4, "did you mean 'purple'?"),
    ("empty-body", AGENT, agent(GOOD, body="\n"), "warning", "body-empty", 5, "empty"),
    (
        "fence",
        AGENT,
        agent(GOOD, body="\nRun:\n```bash\necho hi\n"),
        "warning",
        "code-fence-unclosed",
        7,
        "never closed",
    ),
    ("bom", AGENT, b"\xef\xbb\xbf" + agent(GOOD), "error", "bom", 1, "byte order mark"),
    (
        "bad-bytes",
        AGENT,
        agent(GOOD, body="\nline one\nbad X here\n").replace(b"X", b"\xff"),
        "error",
        "utf8",
        7,
        "not valid UTF-8",
    ),
    ("crlf", AGENT, agent(GOOD).replace(b"\n", b"\r\n"), "warning", "crlf", 1, "CRLF"),
    ("unreadable", AGENT, None, "error", "unreadable", 1, "Permission denied"),
    (
        "command-description",
        COMMAND,
        b"---\nargument-hint: <msg>\n---\nCommit.\n",
        "warning",
        "command-description",
        1,
        "cannot invoke",
    ),
    (
        "command-name",
        COMMAND,
        b"---\nname: commit\ndescription: Commit\n---\nCommit.\n",
        "warning",
        "command-name-ignored",
        2,
        "ignored in command files",
    ),
    (
        "allowed-tools",
        COMMAND,
        b"---\ndescription: Commit\nallowed-tools: Bash(git add:*, Read\n---\nCommit.\n",
        "error",
        "tools-syntax",
        3,
        "allowed-tools",
    ),
    ("json", MANIFEST, b'{\n  "name": "x",\n}\n', "error", "json-syntax", 3, "line 3 column 1"),
    ("plugin-name", MANIFEST, b'{\n  "name": "Incident_Response"\n}\n', "error", "name-kebab", 2, "kebab-case"),
    (
        "author",
        MANIFEST,
        b'{\n  "name": "ir",\n  "author": "Seth"\n}\n',
        "error",
        "author-object",
        3,
        "must be an object",
    ),
    ("keywords", MANIFEST, b'{\n  "name": "ir",\n  "keywords": "a,b"\n}\n', "error", "keywords-array", 3, "array"),
    (
        "path",
        MANIFEST,
        b'{\n  "name": "ir",\n  "commands": ["commands/x.md"]\n}\n',
        "error",
        "path-relative",
        3,
        "must start with './'",
    ),
    (
        "agents-dir",
        MANIFEST,
        b'{\n  "name": "ir",\n  "agents": "./agents/"\n}\n',
        "error",
        "agents-md",
        3,
        "not a directory",
    ),
    (
        "marketplace",
        "m/.claude-plugin/marketplace.json",
        b'{\n  "name": "shop",\n  "owner": "me",\n  "plugins": []\n}\n',
        "error",
        "owner-object",
        3,
        "owner",
    ),
    (
        "skill-name",
        ".claude/skills/triage/SKILL.md",
        b"---\ndescription: Triage\n---\nSteps.\n",
        "error",
        "name-missing",
        1,
        "'name' is required",
    ),
]


@pytest.mark.parametrize(
    ("path", "content", "level", "rule", "line", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_defect_is_reported_once_with_file_and_line(
    path: str, content: bytes | None, level: str, rule: str, line: int, words: str
) -> None:
    problems = check({path: content})
    assert [(p.file, p.line, p.level, p.rule) for p in problems] == [(path, line, level, rule)], problems
    assert words in problems[0].message
    assert problems[0].format().startswith(f"{path}:{line}: {level}: ")


def test_duplicate_names_name_both_files_once() -> None:
    body = real(AGENT)
    problems = check({AGENT: body, ".claude/agents/zz-copy.md": body})
    assert len(problems) == 1
    (p,) = problems
    assert (p.file, p.line, p.rule) == (".claude/agents/zz-copy.md", 2, "name-duplicate")
    assert f"{AGENT}:2" in p.message
    # The same name in two plugins is namespaced by the plugin: not a duplicate.
    plugin = b'{"name": "a"}'
    assert (
        check(
            {
                "a/.claude-plugin/plugin.json": plugin,
                "a/agents/x.md": body,
                "b/.claude-plugin/plugin.json": plugin.replace(b'"a"', b'"b"'),
                "b/agents/x.md": body,
            }
        )
        == []
    )


def test_components_table_says_which_file_does_not_load() -> None:
    files = files_frame(
        [(AGENT, real(AGENT), ""), (".claude/agents/bad.md", agent("name: bad\ndescription: a: b\n"), "")]
    )
    problems = detect_plugin_problems(files)
    assert invalid_files(problems) == [".claude/agents/bad.md"]
    table = list_components(files, problems).set_index("name")
    assert table.loc["bad", "loads"] == "no" and table.loc["sre-engineer", "loads"] == "yes"
    assert table.loc["bad", "first_error"].startswith("line 3: unquoted ': '")
    assert not tree_is_valid(files)
    assert isinstance(problems, pd.DataFrame) and list(problems["line"]) == [3]


def test_load_log_summary_puts_errors_first() -> None:
    at = pd.Timestamp("2026-12-01T10:00:00Z")
    frame = pd.DataFrame(
        {
            "logged_at": [at, at + pd.Timedelta(minutes=1), at + pd.Timedelta(minutes=2), at + pd.Timedelta(minutes=3)],
            "level": ["info", "info", "error", "error"],
            "logger": ["agents"] * 4,
            "message": [
                "loaded 3 agents",
                "loaded 3 agents",
                "Failed to parse agent a.md",
                "Failed to parse agent a.md",
            ],
            "source_file": ["app.log"] * 4,
        }
    )
    table = summarise_load_log(frame)
    assert list(table["message"]) == ["Failed to parse agent a.md", "loaded 3 agents"]
    assert list(table["count"]) == [2, 2]
    assert table.loc[0, "first_at"] == at + pd.Timedelta(minutes=2) and table.loc[0, "last_at"] == at + pd.Timedelta(
        minutes=3
    )
    assert summarise_load_log(frame.iloc[:0]).empty
