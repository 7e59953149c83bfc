"""Notebook display helpers that are safe for hostile log text.

Reports are exported to HTML, so anything that came from a log, a URL or a server is
escaped here before it reaches ``IPython.display.Markdown`` (which passes raw HTML
through). Tables go through pandas' own escaping, after ANSI escapes and control
characters are removed and long cells are cut.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from runbook_lib.collected import Collected
from runbook_lib.findings import SEVERITIES, Finding, rank
from runbook_lib.notebook.tables import table_html
from runbook_lib.text import MAX_CELL_CHARS, clean_text

if TYPE_CHECKING:  # matplotlib costs ~1 s to import: the CLI imports this module for escape_md
    from matplotlib.figure import Figure

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


def severity_badge(severity: str) -> str:
    """A text badge coloured by CSS (the report template), readable without emoji fonts."""
    name = severity if severity in SEVERITIES else "unknown"
    return f"<span class='rb-sev rb-sev-{name}'>{name.upper()}</span>"


def escape_md(value: object, max_chars: int = 500) -> str:
    """Escape *value* for interpolation into Markdown: HTML-escaped, Markdown-inert.

    Only ``& < >`` become entities: quotes are harmless in Markdown text, and their entities
    (``&#x27;``) would have their ``#`` backslash-escaped below and show up literally."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(clean_text(value, max_chars), quote=False))


def md_text(template: str, **values: object) -> str:
    """Fill a trusted Markdown *template* with untrusted *values*, each escaped."""
    return template.format(**{k: escape_md(v) for k, v in values.items()})


def _display(obj: Any) -> None:
    from IPython.display import display

    display(obj)


def show_md(template: str, **values: object) -> None:
    """Display a trusted Markdown template filled with escaped values."""
    from IPython.display import Markdown

    _display(Markdown(md_text(template, **values)))


def safe_table(frame: pd.DataFrame, *, max_rows: int = 20, max_chars: int = MAX_CELL_CHARS) -> pd.DataFrame:
    """A display copy of *frame*: first rows, text cells cleaned and cut."""
    out = frame.head(max_rows).copy()
    out.columns = [clean_text(c, 60) for c in out.columns]
    for col in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_datetime64_any_dtype(out[col])):
            out[col] = out[col].map(lambda v: v if v is None or v is pd.NA else clean_text(v, max_chars))
    return out


def show_table(
    frame: pd.DataFrame, *, max_rows: int = 20, empty: str = "(no rows)", millis: Sequence[str] = ()
) -> None:
    """Display a readable table (human units, no index column, every cell escaped); the
    notebook keeps the raw values in the output's ``text/plain`` part. Timestamps show
    seconds; the columns in *millis* show milliseconds (where the order in a second matters)."""
    if frame.empty:
        show_md("_{note}_", note=empty)
        return
    from IPython.display import display

    raw = safe_table(frame, max_rows=max_rows).to_string(max_colwidth=MAX_CELL_CHARS)
    display({"text/html": table_html(frame, max_rows=max_rows, millis=millis), "text/plain": raw}, raw=True)


def figure_png(fig: Figure, *, dpi: int = 90) -> bytes:
    """Render a library figure to PNG bytes (embedded as a data URI in the HTML report)."""
    buf = io.BytesIO()
    # A constrained-layout figure (charts.style.new_figure) already fits its canvas; a
    # "tight" box would lay it out and draw it twice.
    tight = "tight" if fig.get_layout_engine() is None else None
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches=tight)
    return buf.getvalue()


def show_figure(fig: Figure) -> None:
    """Display a figure as a PNG, independent of the notebook's matplotlib backend."""
    from IPython.display import Image

    _display(Image(data=figure_png(fig), format="png"))


def findings_markdown(findings: Iterable[Finding]) -> str:
    """Markdown bullet list of findings, most severe first, escaped."""
    lines = [f"- {severity_badge(f.severity)} {escape_md(f.summary, 1000)}" for f in rank(findings)]
    return "\n".join(lines) if lines else "- No findings."


def show_findings(findings: Sequence[Finding] | Finding) -> None:
    """Display one finding or a list as a Markdown list."""
    from IPython.display import Markdown

    items = [findings] if isinstance(findings, Finding) else list(findings)
    _display(Markdown(findings_markdown(items)))


def sources_frame(sources: Sequence[Collected]) -> pd.DataFrame:
    """The source-status table: one row per source with status, reason and counts."""
    rows = [c.status_row() for c in sources]
    frame = pd.DataFrame(
        rows,
        columns=[
            "source",
            "target",
            "status",
            "reason",
            "rows",
            "lines_read",
            "lines_skipped",
            "elapsed_s",
            "samples",
        ],
    )
    frame["samples"] = frame["samples"].map(lambda s: " | ".join(s) if s else "")
    return frame


def show_sources(sources: Sequence[Collected]) -> None:
    """Display the source-status table (what was read, what was broken and why)."""
    show_table(sources_frame(sources), max_rows=100)


def show_text(text: str) -> None:
    """Display plain text (e.g. a notification to paste); rendered escaped in the report."""
    from IPython.display import Pretty

    _display(Pretty(clean_text(text, 20_000)))


def show_markdown_document(markdown: str) -> None:
    """Display Markdown built by the library with every untrusted value already escaped
    (e.g. :func:`runbook_lib.incident.comms.incident_report_markdown`)."""
    from IPython.display import Markdown

    _display(Markdown(markdown))
