"""Lazy package exports (runbook_lib/lazy.py): a flow's import cell and ``runbook run`` load
only the modules of the names they use, and the exported names behave as before."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from runbook_lib.lazy import lazy_exports, type_checking_imports

ROOT = Path(__file__).resolve().parent.parent
LAZY_PACKAGES = [
    "runbook_lib.analysis",
    "runbook_lib.charts",
    "runbook_lib.incident",
    "runbook_lib.notebook",
    "runbook_lib.sources.ci",
    "runbook_lib.sources.dependencies",
    "runbook_lib.sources.host",
    "runbook_lib.sources.logs",
    "runbook_lib.sources.metrics",
    "runbook_lib.sources.pg",
    "runbook_lib.sources.plugins",
]


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running *code*."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    env = {"PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_the_run_command_loads_no_plotting_dataframe_engine_or_driver() -> None:
    modules = loaded_after("import runbook_lib.cli\nfrom runbook_lib.run.runner import run_flow")
    for heavy in ("matplotlib", "polars", "psycopg", "httpx", "ipywidgets"):
        assert heavy not in modules, f"runbook run imports {heavy}"
    assert "runbook_lib.run.runner" in modules


def test_one_analysis_name_loads_its_module_only() -> None:
    modules = loaded_after("from runbook_lib.analysis import status_rates")
    assert "runbook_lib.analysis.rates" in modules
    for other in ("runbook_lib.analysis.plugin_rules", "runbook_lib.analysis.tests_history", "yaml", "matplotlib"):
        assert other not in modules


def test_reading_a_log_does_not_load_the_database_or_http_drivers() -> None:
    modules = loaded_after("from runbook_lib.sources.logs import collect_access_log")
    assert "runbook_lib.sources.logs.access_log" in modules
    assert "psycopg" not in modules and "httpx" not in modules


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_export_has_one_origin_and_resolves(package: str) -> None:
    module = __import__(package, fromlist=["__all__"])
    origins = type_checking_imports(Path(module.__file__ or "").read_text(encoding="utf-8"), package)
    assert set(origins) <= set(module.__all__), "an import under TYPE_CHECKING that is not exported"
    assert not [n for n in module.__all__ if n not in origins and n not in vars(module)]
    for name in module.__all__:
        value = getattr(module, name)
        assert not isinstance(value, types.ModuleType), f"{package}.{name} is a module"
        assert name in dir(module)


def test_a_name_shadowing_its_submodule_stays_the_function() -> None:
    # widgets imports the module runbook_lib.notebook.explore; the package keeps the function.
    modules = loaded_after(
        "import runbook_lib.notebook as nb\nfrom runbook_lib.notebook import explore_by\n"
        "assert callable(nb.explore) and not isinstance(nb.explore, type(nb)), nb.explore\n"
        "from runbook_lib.notebook import explore\nassert explore is nb.explore"
    )
    assert "runbook_lib.notebook.explore" in modules


def test_unknown_names_raise_and_submodules_still_resolve() -> None:
    import runbook_lib.analysis as analysis

    with pytest.raises(AttributeError, match="no_such_analysis"):
        _ = analysis.no_such_analysis  # type: ignore[attr-defined]
    assert analysis.views.__name__ == "runbook_lib.analysis.views"  # type: ignore[attr-defined]


def test_type_checking_block_is_the_only_source_of_names(tmp_path: Path) -> None:
    pkg = tmp_path / "lazypkg"
    pkg.mkdir()
    (pkg / "part.py").write_text("VALUE = 41\ndef part():\n    return 'function'\n")
    (pkg / "__init__.py").write_text(
        "from typing import TYPE_CHECKING\nfrom runbook_lib.lazy import lazy_exports\n"
        "if TYPE_CHECKING:\n    from .part import VALUE, part\n"
        "import os  # an ordinary import stays eager and is not an export\n"
        "__getattr__, __dir__ = lazy_exports(__name__, __file__)\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        import lazypkg  # type: ignore[import-not-found]

        assert "lazypkg.part" not in sys.modules
        assert lazypkg.VALUE == 41
        assert lazypkg.part() == "function"  # the export shadows the submodule of that name
        assert "VALUE" in dir(lazypkg)
        with pytest.raises(AttributeError):
            _ = lazypkg.os_path
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.split(".")[0] == "lazypkg"]:
            del sys.modules[name]
    assert callable(lazy_exports)
