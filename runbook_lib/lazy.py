"""Lazy package exports (PEP 562): ``from runbook_lib.analysis import x`` imports x's module only.

Why: a package ``__init__`` that imports every module makes each flow's import cell, and
``runbook run`` itself, pay for all of them (the incident package pulled matplotlib into the
CLI through its templates; the analysis package loaded YAML and every analysis for triage's
ten names). A package keeps its imports, unchanged, under ``if TYPE_CHECKING:`` (so mypy,
ruff, the layer test and readers see them) and ends with::

    __getattr__, __dir__ = lazy_exports(__name__, __file__)

which reads that block once and imports a name's module on first use. ``__all__`` stays
the static list that tests/test_exported_members.py pins. A name that is also a submodule
of the package (the function ``runbook_lib.notebook.explore`` of the module of that name)
stays the function: the import system binds a submodule to its package once it is loaded,
and the package keeps the export instead, as the eager ``from … import explore`` did.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any


def type_checking_imports(source: str, package: str) -> dict[str, str]:
    """{exported name: absolute module} from the ``if TYPE_CHECKING:`` block(s) of *source*."""
    origins: dict[str, str] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")):
            continue
        for stmt in node.body:
            if isinstance(stmt, ast.ImportFrom) and stmt.module is not None:
                module = stmt.module
                if stmt.level:  # relative: resolve against the package
                    base = package.rsplit(".", stmt.level - 1)[0] if stmt.level > 1 else package
                    module = f"{base}.{module}"
                origins.update({alias.asname or alias.name: module for alias in stmt.names})
    return origins


def lazy_exports(package: str, init_file: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of *package*, whose ``__init__`` is *init_file*."""
    folder = Path(init_file).parent
    origins = type_checking_imports(Path(init_file).read_text(encoding="utf-8"), package)
    namespace = sys.modules[package].__dict__

    def is_submodule(name: str) -> bool:
        return (folder / f"{name}.py").exists() or (folder / name / "__init__.py").exists()

    def load(name: str) -> Any:
        value = getattr(importlib.import_module(origins[name]), name)
        namespace[name] = value  # later lookups are plain attribute reads
        return value

    def __getattr__(name: str) -> Any:
        if name in origins:
            return load(name)
        if is_submodule(name):  # ``pkg.module`` kept working when the package imported it
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(origins))

    shadowed = {n for n in origins if is_submodule(n) and origins[n] == f"{package}.{n}"}
    if shadowed:
        _keep_exports(sys.modules[package], shadowed)
    return __getattr__, __dir__


def _keep_exports(module: ModuleType, names: set[str]) -> None:
    """Make *module* keep the function, not the submodule, for each of *names*."""

    class Package(ModuleType):
        def __setattr__(self, name: str, value: Any) -> None:
            if name in names and isinstance(value, ModuleType) and value.__name__ == f"{self.__name__}.{name}":
                value = getattr(value, name)  # the import system sets this after loading it
            super().__setattr__(name, value)

    module.__class__ = Package
