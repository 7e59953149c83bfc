"""run: a flow run (params, runner, folders, html export, index).

nbformat validates notebooks with jsonschema, whose optional ``rfc3987_syntax`` helper
(installed with Jupyter's extras) builds a grammar for the ``iri`` formats at import: a
second or more of every ``runbook run``, for a format check nbformat never asks for. It is
hidden from this process before nbformat loads; jsonschema then skips those two checks.
"""

from __future__ import annotations

import sys

sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
