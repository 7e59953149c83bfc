"""What a flow imports, as code a fresh kernel runs while the run is still being prepared.

A flow's import cell costs 0.6-0.8 s (pandas, matplotlib, the kit's analysis and display
modules). The kernel is idle from its boot until the parent hands it the notebook, so it
imports then. The code imports the modules the notebook's cells import at their top level
and touches the names taken from them (the kit's packages export lazily), binding nothing
in the user's namespace. It is best effort: an import that fails here fails again, visibly,
in its own cell.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

__all__ = ["imported_modules", "preload_code"]


def imported_modules(notebook: Path) -> list[tuple[str, list[str]]]:
    """(module, names taken from it) for each top-level import of *notebook*'s code cells,
    in order, each module once. A cell that does not parse (IPython magics) is skipped."""
    found: dict[str, list[str]] = {}
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        try:
            tree = ast.parse("".join(source) if isinstance(source, list) else source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.setdefault(alias.name, [])
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = found.setdefault(node.module, [])
                names += [a.name for a in node.names if a.name != "*" and a.name not in names]
    return list(found.items())


def preload_code(notebook: Path) -> str:
    """Code importing what *notebook* imports, without output or names left behind."""
    modules = imported_modules(notebook)
    return (
        "def _runbook_preload(modules):\n"
        "    import importlib\n"
        "    for module, names in modules:\n"
        "        try:\n"
        "            loaded = importlib.import_module(module)\n"
        "        except Exception:\n"
        "            continue\n"
        "        for name in names:\n"
        "            try:\n"
        "                if getattr(loaded, name, None) is None:\n"
        "                    importlib.import_module(f'{module}.{name}')\n"
        "            except Exception:\n"
        "                pass\n"
        f"_runbook_preload({modules!r})\n"
        "del _runbook_preload\n"
    )
