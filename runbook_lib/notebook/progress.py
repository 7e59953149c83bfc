"""Progress bars for reads and samples that take more than a second, in JupyterLab only.

Sources take a plain ``progress(done, total)`` callback so that they stay free of IPython;
this module makes one. In batch runs (``interactive=False``) there is no callback, so no
bar ever reaches an archived report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Progress = Callable[[int, int], None]


def progress_bar(interactive: bool, desc: str = "sampling", *, unit: str = "sample") -> Progress | None:
    """A tqdm (notebook widget) progress callback in JupyterLab; ``None`` in batch."""
    if not interactive:
        return None
    from tqdm.auto import tqdm  # papermill depends on tqdm; imported only when asked

    bar: list[Any] = []

    def update(done: int, total: int) -> None:
        if not bar:
            scale = {"unit_scale": True, "unit_divisor": 1024} if unit == "B" else {}
            bar.append(tqdm(total=max(total, 1), desc=desc, unit=unit, **scale))
        bar[0].update(min(done, bar[0].total) - bar[0].n)
        if done >= total:
            bar[0].close()

    return update


def reading_bar(interactive: bool) -> Progress | None:
    """A bar over the bytes of the files a log reader goes through."""
    return progress_bar(interactive, "reading", unit="B")
