"""``runbook validate-plugins PATH... [--strict]``: the runbook's "plugin validation in CI/CD".

Prints ``file:line: error|warning: message`` per problem; exits 1 when there are errors
(or, with ``--strict``, warnings), 0 on a clean tree, 2 when a PATH does not exist or
holds no plugin file (a typo in CI must not pass as green).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from runbook_lib.errors import ParameterError


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "validate-plugins",
        help="validate Claude Code agents, commands, skills and plugin manifests",
        description="Validate Claude Code agent/command/skill Markdown and .claude-plugin manifests under PATHs.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a folder (searched recursively) or a file")
    parser.add_argument("--strict", action="store_true", help="warnings fail the run too")
    parser.set_defaults(func=validate_plugins)


def validate_plugins(args: argparse.Namespace) -> int:
    # here, not at import: runbook_lib.analysis loads every analysis module, which every
    # other command (runbook run, above all) would pay for at start
    from runbook_lib.analysis.plugin_rules import problems_frame, validate_files

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise ParameterError(f"no such file or folder: {', '.join(missing)}", key="PATH")
    # Imported here: the plugin reader pulls polars, which no other command needs.
    from runbook_lib.sources.plugins.files import read_tree

    files, _ = read_tree(Path("."), [str(p).rstrip("/") or "/" for p in args.paths])
    if files.empty:
        raise ParameterError(f"no agent, command, skill or plugin manifest under {', '.join(args.paths)}", key="PATH")
    problems = problems_frame(validate_files(files))
    for row in problems.itertuples(index=False):
        print(f"{row.file}:{row.line}: {row.level}: {row.message}")
    errors = int((problems["level"] == "error").sum())
    warnings = len(problems) - errors
    print(f"{len(files)} files checked: {errors} error(s), {warnings} warning(s)", file=sys.stderr)
    return 1 if errors or (args.strict and warnings) else 0
