"""What the flow benchmarks share: a throwaway kit home for ``runbook run`` and the
per-cell durations papermill wrote into the run's archived notebook."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def kit_home(workdir: Path, name: str) -> Path:
    """A fresh project root under *workdir* sharing the real notebooks and parameters."""
    home = workdir / name
    if home.exists():
        shutil.rmtree(home)
    (home / "reports").mkdir(parents=True)
    for part in ("notebooks", "parameters"):
        (home / part).symlink_to(ROOT / part)
    return home


def cell_durations(home: Path, *, width: int = 60) -> list[tuple[str, float]]:
    """(first code line, seconds) per code cell of the newest archived report.ipynb."""
    notebooks = sorted(home.glob("reports/*/*/report.ipynb"), key=lambda p: p.stat().st_mtime)
    if not notebooks:
        return []
    out = []
    for cell in json.loads(notebooks[-1].read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"]).strip().splitlines() or [""]
        lines = [line for line in source if not line.startswith("#")] or source
        duration = cell.get("metadata", {}).get("papermill", {}).get("duration") or 0.0
        out.append((lines[0][:width], float(duration)))
    return out
