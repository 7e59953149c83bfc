"""Export an executed notebook to a self-contained, script-free HTML report.

nbconvert's stock templates load require.js and MathJax from public CDNs and pass raw HTML
outputs through. Ours (``templates/runbook_report``) drops every script, adds a strict
Content-Security-Policy, hides code inputs, and nbconvert's HTML sanitizer cleans what
outputs contain; images are embedded as data URIs, so the file opens offline.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "runbook_report"
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def export_html(notebook: Path, output: Path, *, title: str = "") -> Path:
    """Render *notebook* to *output* (inputs hidden, sanitized, offline) and return the path."""
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    if title:
        nb.metadata["title"] = title
    exporter = HTMLExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        sanitize_html=True,
        embed_images=True,
    )
    body, _ = exporter.from_notebook_node(nb)
    output.write_text(body, encoding="utf-8")
    return output
