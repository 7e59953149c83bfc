"""The ``runbook`` command: the only part of the kit that prints or configures logging.

Each module of this package adds its subcommands through ``register(sub)``; this module
parses, dispatches and maps expected errors. Expected errors print one line
``ErrorType: message`` and exit 2 (usage, parameters) or 1 (the notebook failed; its
report is still archived; a record file is damaged). No tracebacks for expected errors.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from runbook_lib.cli import alerts, archive, incident, lab, plugins, runs
from runbook_lib.errors import ParameterError, RunbookError

#: Modules that contribute subcommands, in the order ``runbook --help`` lists them.
COMMAND_MODULES = [incident, runs, alerts, archive, lab, plugins]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runbook", description="Incident investigation notebooks for on-call engineers."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def entry() -> None:
    """The ``runbook`` command (console script and ``python -m runbook_lib.cli``)."""
    from runbook_lib.cli.prompt_exit import exit_promptly

    exit_promptly(main())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    # papermill/traitlets chatter would bury our one-line outcome.
    for noisy in ("papermill", "traitlets", "nbconvert"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    try:
        return int(args.func(args))
    except ParameterError as err:
        print(f"ParameterError: {err}", file=sys.stderr)
        return 2
    except RunbookError as err:
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        return 1
