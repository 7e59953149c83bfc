"""Flow parameters: read them from the notebooks, merge the layers, type and vet them.

Precedence (DESIGN.md): notebook defaults < ``parameters/defaults.yaml`` < each ``-f`` file
in order < ``-p key value``. Papermill only *warns* about unknown names; we refuse them,
because a typo (``acces_log``) would silently run the demo defaults in a real incident.
Site defaults and ``-f`` files may carry keys for other flows (one file per incident);
those are ignored for this flow, but a key no flow knows is an error.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import yaml

from runbook_lib.errors import ParameterError
from runbook_lib.paths import flow_notebook, notebooks_dir
from runbook_lib.redact import carries_secret


@dataclass(frozen=True)
class Parameter:
    """One line of a notebook's parameters cell: ``name: type = default  # help``."""

    name: str
    type_name: str
    default: Any
    help: str


def flow_names() -> list[str]:
    return sorted(p.stem for p in notebooks_dir().glob("*.ipynb"))


def notebook_path(flow: str) -> Path:
    """The notebook of *flow* (accepting ``high-cpu`` for ``high_cpu``), or a ParameterError."""
    path = flow_notebook(flow)
    if not path.is_file():
        known = ", ".join(flow_names()) or "none"
        raise ParameterError(f"no flow named {flow!r} (flows: {known})", key="flow")
    return path


def read_parameters(path: Path) -> dict[str, Parameter]:
    """Parse the cell tagged ``parameters`` (papermill's convention) into typed entries."""
    import papermill

    inspected = papermill.inspect_notebook(str(path))
    out: dict[str, Parameter] = {}
    for name, info in inspected.items():
        try:
            default = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            default = info["default"]
        out[name] = Parameter(name, str(info["inferred_type_name"]), default, str(info["help"] or ""))
    return out


def purpose(path: Path) -> str:
    """The flow's one-line purpose: the first sentence after the title of its first markdown cell."""
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = [ln.strip() for ln in cell.source.splitlines() if ln.strip() and not ln.startswith("#")]
        return str(lines[0] if lines else cell.source.strip().lstrip("# "))
    return ""


def load_yaml_file(path: Path) -> dict[str, Any]:
    """A parameters file: a YAML mapping of parameter names to values."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ParameterError("parameters file not found", file=str(path)) from err
    except yaml.YAMLError as err:
        raise ParameterError(f"not valid YAML ({str(err).splitlines()[0]})", file=str(path)) from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError("must be a mapping of parameter names to values", file=str(path))
    return data


def coerce(value: Any, param: Parameter, *, source: str = "") -> Any:
    """Convert *value* to the declared type of *param* (CLI values arrive as strings)."""
    kind = param.type_name.lower()
    try:
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "yes", "1", "on"):
                return True
            if text in ("false", "no", "0", "off"):
                return False
            raise ValueError(value)
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if kind == "float":
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if kind == "str":
            return "" if value is None else str(value)
        if kind.startswith(("list", "dict")) and isinstance(value, str):
            return yaml.safe_load(value)
    except (ValueError, TypeError, yaml.YAMLError) as err:
        raise ParameterError(f"expected {param.type_name}, got {value!r}", key=param.name, file=source or None) from err
    return value


def all_known_parameters() -> set[str]:
    names: set[str] = set()
    for flow in flow_names():
        names.update(read_parameters(flow_notebook(flow)))
    return names


def merge_parameters(
    declared: Mapping[str, Parameter],
    *,
    defaults_file: Path | None = None,
    files: Sequence[Path] = (),
    overrides: Iterable[tuple[str, str]] = (),
) -> tuple[dict[str, Any], list[str]]:
    """Return ``(values to inject, notes)``; values only for keys some layer set
    (the rest keep the notebook's defaults).

    Raises :class:`ParameterError` (naming file and key) for unknown keys, bad types and
    any value that carries a password or token.
    """
    values: dict[str, Any] = {}
    notes: list[str] = []
    known_anywhere: set[str] | None = None
    layers: list[tuple[str, dict[str, Any], bool]] = []
    if defaults_file is not None and defaults_file.is_file():
        layers.append((str(defaults_file), load_yaml_file(defaults_file), True))
    layers += [(str(f), load_yaml_file(Path(f)), False) for f in files]
    for source, data, site_wide in layers:
        for key, value in data.items():
            key = str(key)
            if key not in declared:
                if site_wide:
                    continue
                known_anywhere = all_known_parameters() if known_anywhere is None else known_anywhere
                if key not in known_anywhere:
                    raise ParameterError("unknown parameter (no flow declares it)", key=key, file=source)
                notes.append(f"{source}: {key} is not a parameter of this flow; ignored")
                continue
            values[key] = _vetted(coerce(value, declared[key], source=source), key, source)
    for key, raw in overrides:
        if key not in declared:
            raise ParameterError(f"unknown parameter for this flow (known: {', '.join(sorted(declared))})", key=key)
        values[key] = _vetted(coerce(raw, declared[key]), key, "")
    return values, notes


def _vetted(value: Any, key: str, source: str) -> Any:
    if carries_secret(value) or carries_secret(key):
        raise ParameterError(
            "refusing a value that carries a password or token; name a libpq service "
            "(pg_service), an env var (pg_dsn_env) or use .pgpass instead",
            key=key,
            file=source or None,
        )
    return value
