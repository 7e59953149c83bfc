"""``python -m runbook_lib.cli``: the same as the ``runbook`` command."""

from runbook_lib.cli import entry

entry()
