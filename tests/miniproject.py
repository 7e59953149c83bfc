"""A throwaway project folder with tiny flow notebooks, for testing the runner and CLI.

``RUNBOOK_HOME`` points the kit at it, so runs archive into its own ``reports/``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

PARAMS = """incident_id: str = ""  # incident id
message: str = "hello"  # text to record
level: int = 1  # a number
ratio: float = 0.5  # a float
enabled: bool = False  # a flag
items: list = []  # a list"""


def write_notebook(folder: Path, name: str, body: list[str], *, params: str = PARAMS, purpose: str = "") -> Path:
    cells = [
        new_markdown_cell(f"# {name}\n\n{purpose or 'A test flow that records what it was given.'}"),
        new_code_cell(params, metadata={"tags": ["parameters"]}),
        *[new_markdown_cell(src[3:]) if src.startswith("md:") else new_code_cell(src) for src in body],
    ]
    nb = new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, str(path))
    return path


RECORD = """from runbook_lib.findings import Finding, record_findings
from runbook_lib.notebook.display import show_md
show_md("message: {{m}}", m=message)
summary = f"got {{message}} {{level}} {{ratio}} {{enabled}} {{items}}"
record_findings(flow="{flow}", incident_id=incident_id, findings=[Finding("echo", "info", summary)])"""


def make_project(root: Path) -> Path:
    (root / "notebooks").mkdir(parents=True)
    (root / "parameters").mkdir()
    (root / "reports").mkdir()
    nbs = root / "notebooks"
    write_notebook(nbs, "echo", [RECORD.format(flow="echo")], purpose="Echo parameters into findings.")
    write_notebook(
        nbs,
        "fails",
        ["md:## setup", RECORD.format(flow="fails"), "raise RuntimeError('boom in the analysis')"],
        purpose="A flow whose third cell raises.",
    )
    write_notebook(nbs, "slow", ["import time\ntime.sleep(60)"], purpose="A flow that hangs.")
    write_notebook(
        nbs,
        "hostile",
        [
            "from runbook_lib.notebook.display import show_md, show_table, show_findings\nimport pandas as pd\n"
            'evil = (\'<script>document.body.setAttribute("data-pwned", "1")</script>\'\n'
            "        '<img src=\"http://127.0.0.1:' + str(level) + '/beacon\" '\n"
            "        'onerror=\"document.body.setAttribute(\\'data-pwned\\', \\'2\\')\">\\x1b[31m' + 'A' * 5000)\n"
            "show_md('log line: {v}', v=evil)\n"
            "show_table(pd.DataFrame({'line': [evil], 'n': [1]}))",
            "from runbook_lib.findings import Finding, record_findings\n"
            "findings = [Finding('hostile', 'high', 'payload ' + evil[:300])]\nshow_findings(findings)\n"
            "record_findings(flow='hostile', incident_id=incident_id, findings=findings)",
        ],
        purpose="Renders hostile log text.",
    )
    return root
