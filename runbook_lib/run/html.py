"""Export an executed notebook to a self-contained, script-free HTML report.

nbconvert's stock templates load require.js and MathJax from public CDNs and pass raw HTML
outputs through. Ours (``templates/runbook_report``) drops every script, adds a strict
Content-Security-Policy and hides code inputs. Before export, every HTML and Markdown
output is rendered and cleaned with an allow-list that keeps tables, headings and lists
(nbconvert's own ``sanitize_html`` escapes those, which makes pandas tables unreadable),
and scripts/widget state are removed. Images are embedded as data URIs, so the file opens
offline. Values from logs are escaped earlier still, in ``runbook_lib.notebook.display``.

nbconvert's ``HTMLExporter`` ends by parsing the whole page with BeautifulSoup to give
images a default ``alt`` and outputs ``tabindex="0"``: about 0.3 s of CPU per run (CSS
selector compilation and a parse of every chart's base64). :func:`accessible` adds the same
two attributes to the tags our template writes, and :class:`ReportExporter` skips the soup.
"""

from __future__ import annotations

import functools
import re
import threading
from pathlib import Path
from typing import Any

import bleach
import nbformat

from runbook_lib.findings import FINDINGS_FILE, read_findings
from runbook_lib.run.verdict import verdict_html
from runbook_lib.store import StoreError

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "runbook_report"
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


_ALLOWED_TAGS = {
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "th",
    "td",
    "caption",
    "div",
    "span",
    "p",
    "br",
    "hr",
    "b",
    "i",
    "strong",
    "em",
    "code",
    "pre",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "small",
    "sup",
    "sub",
    "a",
    "img",
}
_ALLOWED_ATTRIBUTES = {
    "*": ["class", "id", "title"],
    "th": ["colspan", "rowspan"],
    "td": ["colspan", "rowspan"],
    "a": ["href", "title"],
    "img": ["src", "alt", "width", "height"],
}
# pandas prefixes its tables with a <style scoped> block; it is ours, not log text, but the
# report has one stylesheet and bleach would leave its CSS behind as visible text.
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>.*?</style>", re.S | re.I)
_DROP_MIMETYPES = ("application/javascript", "text/javascript", "application/vnd.jupyter.widget-state+json")
#: nbconvert's own wording for an image without a description (screen readers read it).
NO_ALT = "No description has been provided for this image"
_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\salt=)")
_FOCUSABLE_DIV = re.compile(
    r'<div\b(?=[^>]*\sclass="(?:[^"]*\s)?(?:jp-OutputArea-output|jp-Cell-inputWrapper)(?:\s[^"]*)?")'
    r"(?![^>]*\stabindex=)([^>]*?)(/?)>"
)


def accessible(page: str) -> str:
    """What nbconvert's BeautifulSoup pass adds: ``alt`` on images that have none and
    ``tabindex="0"`` on every output and input wrapper, so a keyboard reaches them."""
    page = _IMG_WITHOUT_ALT.sub(f'<img alt="{NO_ALT}"', page)
    return _FOCUSABLE_DIV.sub(r'<div\1 tabindex="0"\2>', page)


def clean_html(fragment: str) -> str:
    """Allow-list sanitising of one HTML fragment (tables, headings, lists, data: images)."""
    return str(
        bleach.clean(
            _STYLE_BLOCK.sub("", fragment),
            tags=_ALLOWED_TAGS,
            attributes=_ALLOWED_ATTRIBUTES,
            protocols=["http", "https", "mailto", "data"],
            strip=True,
        )
    )


def sanitize_outputs(nb: Any) -> Any:
    """Render Markdown outputs to HTML and clean every HTML output of *nb* in place."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data")
            if not data:
                continue
            for mimetype in _DROP_MIMETYPES:
                data.pop(mimetype, None)
            if "text/markdown" in data:
                data["text/html"] = markdown2html_mistune(_text(data.pop("text/markdown")))
            if "text/html" in data:
                data["text/html"] = clean_html(_text(data["text/html"]))
    return nb


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def add_verdict(nb: Any, doc: dict[str, Any]) -> Any:
    """Put the summary block right after the purpose cell, before any table or chart."""
    cell = nbformat.v4.new_code_cell(source="")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": verdict_html(doc)})]
    cell.metadata["tags"] = ["runbook-verdict"]
    first = nb.cells[0] if nb.cells else None
    at = 1 if first is not None and first.cell_type == "markdown" else 0
    nb.cells.insert(at, cell)
    return nb


@functools.cache
def _exporter_class() -> Any:
    """``HTMLExporter`` without its BeautifulSoup pass (:func:`accessible` does its work).

    Built on first use: nbconvert is imported only by the runs that export.
    """
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class ReportExporter(HTMLExporter):
        def from_notebook_node(  # type: ignore[override]  # as nbconvert's own HTMLExporter
            self, nb: Any, resources: Any = None, **kw: Any
        ) -> tuple[str, dict[str, Any]]:
            # HTMLExporter.from_notebook_node (nbconvert 7), up to its soup.
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            highlight_code = self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
            resources = self._init_resources(resources)
            filter_data_type = WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources
            )
            self.register_filter("highlight_code", highlight_code)
            self.register_filter("filter_data_type", filter_data_type)
            page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return accessible(page), resources

    return ReportExporter


def export_html(notebook: Path, output: Path, *, title: str = "") -> Path:
    """Render *notebook* to *output* (inputs hidden, sanitized, offline) and return the path.

    When the run folder has a ``findings.json``, the report opens with its verdict.
    """
    nb = nbformat.read(str(notebook), as_version=4)
    if title:
        nb.metadata["title"] = title
    nb.metadata.pop("widgets", None)
    sanitize_outputs(nb)
    if (notebook.parent / FINDINGS_FILE).exists():
        try:
            doc = read_findings(notebook.parent)
        except StoreError:
            doc = {}
        if doc:
            add_verdict(nb, doc)  # built from escaped values after cleaning: our own markup
    body = _render(nb)
    output.write_text(body, encoding="utf-8")
    return output


@functools.cache
def _exporter(exporter_class: Any) -> Any:
    """One exporter (of *exporter_class*) per process: its Jinja environment keeps the compiled template, which a
    new exporter compiles again (0.05 s of each export). Used under :data:`_EXPORTING`."""
    return exporter_class(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        sanitize_html=False,  # done by sanitize_outputs with an allow-list that keeps tables
        embed_images=True,
    )


#: The alert receiver exports from several threads; one exporter renders one notebook at a time.
_EXPORTING = threading.Lock()


def _render(nb: Any) -> str:
    with _EXPORTING:
        body, _ = _exporter(_exporter_class()).from_notebook_node(nb)
    return str(body)


def warm_up() -> None:
    """Render a two-cell notebook and throw it away, so the first real export finds
    nbconvert's filters, the template and the highlighter loaded (about 0.5 s of a cold
    export). The runner calls it in a thread while the kernel starts and runs, time the
    CLI otherwise spends waiting."""
    v4 = nbformat.v4
    table = {"text/html": "<table><tr><td>1</td></tr></table>", "text/plain": "1"}
    nb = v4.new_notebook(
        cells=[
            v4.new_markdown_cell("# warm up\n\n`code` *text*"),
            v4.new_code_cell("x", outputs=[v4.new_output("execute_result", data=table, execution_count=1)]),
        ]
    )
    try:
        _render(sanitize_outputs(nb))
    except Exception:  # noqa: BLE001 - only a head start: the real export reports its own errors
        return
