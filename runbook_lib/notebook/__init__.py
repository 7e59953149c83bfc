"""notebook"""

from __future__ import annotations

from runbook_lib.notebook.display import (
    show_figure,
    show_findings,
    show_markdown_document,
    show_md,
    show_sources,
    show_table,
    show_text,
)
from runbook_lib.notebook.progress import progress_bar, reading_bar
from runbook_lib.notebook.widgets import explore_by

__all__ = [
    "explore_by",
    "progress_bar",
    "reading_bar",
    "show_figure",
    "show_findings",
    "show_markdown_document",
    "show_md",
    "show_sources",
    "show_table",
    "show_text",
]
