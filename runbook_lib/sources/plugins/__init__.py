"""Claude Code plugins: the files (``files``), their git history (``history``) and the
application log's load errors (``load_log``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook_lib.lazy import lazy_exports

if TYPE_CHECKING:
    from runbook_lib.sources.plugins.files import collect_plugin_files
    from runbook_lib.sources.plugins.history import collect_culprits, collect_plugin_history
    from runbook_lib.sources.plugins.load_log import collect_plugin_load_log

__all__ = [
    "collect_culprits",
    "collect_plugin_files",
    "collect_plugin_history",
    "collect_plugin_load_log",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
