"""Plugin, agent, command and skill load errors from the application log.

The runbook's step 4 (``grep "plugin\\|agent\\|command" application.log``), done on the
parsed app log (``sources.logs.app_log``) and the incident window, so a log in JSON,
logfmt or plain text all work. Frame: :data:`~runbook_lib.sources.logs.app_log.APP_SCHEMA`,
only the records whose message or logger names a plugin component.
"""

from __future__ import annotations

import re

from runbook_lib.collected import Collected
from runbook_lib.sources.logs.app_log import collect_app_log
from runbook_lib.timewindow import Window

__all__ = ["collect_plugin_load_log"]

_COMPONENT = re.compile(r"\b(?:plugins?|agents?|subagents?|commands?|skills?|front ?matter)\b", re.IGNORECASE)


def collect_plugin_load_log(app_log: str, *, window: Window | None = None) -> Collected:
    """App-log records in *window* that mention a plugin component (skipped when not configured)."""
    result = collect_app_log(app_log, window=window)
    result.source = "plugin_load_log"
    if not result.usable:
        return result
    frame = result.frame
    text = frame["logger"].astype(str) + " " + frame["message"].astype(str)
    result.frame = frame[text.str.contains(_COMPONENT)].reset_index(drop=True)
    return result
