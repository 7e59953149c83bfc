"""The warm kernel imports what the flow imports before the run is handed to it, binding
nothing; an import that fails there fails again, visibly, in its own cell."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from runbook_lib.incident import record as incident
from runbook_lib.run.preload import imported_modules, preload_code
from runbook_lib.run.runner import run_flow
from runbook_lib.run.warm_kernel import WarmKernel
from tests.miniproject import make_project, write_notebook

# Importing it records when, and how often, it was imported (a fresh kernel: once at most).
MODULE = """import time
LOADED_AT = time.time()
"""
FIRST = "import time as _t\nfirst_cell_at = _t.time()"
CHECK = """import warmmod
from runbook_lib.findings import Finding, record_findings
loaded_before = warmmod.LOADED_AT < first_cell_at
record_findings(flow="warm", incident_id=incident_id,
                findings=[Finding("preload", "info", f"loaded before: {loaded_before}")])"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_project(tmp_path / "kit")
    monkeypatch.setenv("RUNBOOK_HOME", str(root))
    (root / "warmmod.py").write_text(MODULE)  # the kernel's cwd is the project root
    return root


def _summary(result_dir: Path) -> str:
    return str(json.loads((result_dir / "findings.json").read_text())["findings"][0]["summary"])


def test_imported_modules_lists_top_level_imports_once_and_skips_what_cannot_preload(tmp_path: Path) -> None:
    nb = new_notebook(
        cells=[
            new_code_cell("import pandas as pd\nfrom runbook_lib.notebook import show_md, show_table"),
            new_code_cell("%matplotlib inline\nimport never_seen"),  # a magic: not Python, skipped
            new_code_cell("from . import sibling\nfrom runbook_lib.notebook import show_md, show_figure\n"
                          "def later():\n    import inside_a_function"),
        ]
    )  # fmt: skip
    path = tmp_path / "flow.ipynb"
    nbformat.write(nb, str(path))
    assert imported_modules(path) == [
        ("pandas", []),
        ("runbook_lib.notebook", ["show_md", "show_table", "show_figure"]),
    ]


def test_preload_code_binds_nothing_and_survives_a_broken_import(tmp_path: Path) -> None:
    nb = new_notebook(cells=[new_code_cell("import json\nimport no_such_module_anywhere\nfrom os import nope")])
    path = tmp_path / "flow.ipynb"
    nbformat.write(nb, str(path))
    namespace: dict[str, object] = {}
    exec(preload_code(path), namespace)  # noqa: S102 - the code under test is ours
    assert set(namespace) == {"__builtins__"}


def test_the_flow_finds_its_imports_loaded_before_its_first_cell(project: Path) -> None:
    write_notebook(project / "notebooks", "warm", [FIRST, CHECK])
    inc = str(incident.create_incident("preload")["id"])
    result = run_flow("warm", inc)  # run_flow starts its kernel with the flow's preload
    assert result.status == "ok", result.error
    assert _summary(result.run_dir) == "loaded before: True"
    # without the preload the same flow imports the module in its own cell
    with WarmKernel() as kernel:
        cold = run_flow("warm", inc, kernel=kernel)
    assert cold.status == "ok", cold.error
    assert _summary(cold.run_dir) == "loaded before: False"


def test_a_module_that_fails_to_import_fails_in_its_own_cell(project: Path) -> None:
    (project / "warmmod.py").write_text("raise RuntimeError('warmmod is broken')\n")
    write_notebook(project / "notebooks", "warm", [FIRST, CHECK])
    inc = str(incident.create_incident("preload broken")["id"])
    result = run_flow("warm", inc)
    assert result.status == "failed"
    assert "warmmod is broken" in result.error
    # the cell before it ran: the preload's failure did not stop the run
    nb = json.loads((result.run_dir / "report.ipynb").read_text())
    ran = [c for c in nb["cells"] if c["cell_type"] == "code" and c.get("execution_count")]
    assert any("first_cell_at" in "".join(c["source"]) for c in ran)


def test_a_kernel_that_dies_before_the_run_is_a_failed_run_not_a_crash(project: Path) -> None:
    write_notebook(project / "notebooks", "warm", [FIRST, CHECK])
    inc = str(incident.create_incident("preload dead")["id"])
    with WarmKernel() as kernel:
        kernel.km.provisioner.process.kill()  # type: ignore[union-attr]
        result = run_flow("warm", inc, kernel=kernel)
    assert result.status == "failed"
    assert "the kernel died" in result.error
    assert (result.run_dir / "report.html").is_file()


def test_a_kernel_still_importing_past_the_wait_is_named_not_waited_for(project: Path) -> None:
    from nbclient.exceptions import DeadKernelError

    (project / "warmmod.py").write_text("import time\ntime.sleep(30)\n")  # an import that hangs
    notebook = write_notebook(project / "notebooks", "warm", [FIRST, CHECK])
    with WarmKernel(preload=notebook) as kernel:
        kernel.assign(project / "reports")
        with pytest.raises(DeadKernelError, match="did not answer in 1 s"):
            kernel.wait_assigned(timeout_s=1.0)
