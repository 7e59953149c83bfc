"""Row selection that stays fast on the readers' Arrow-backed frames.

Why: a reader appends one Arrow table per chunk, so every text column of a 5M-row frame is
a chunked array of dozens of pieces. pandas turns a boolean row mask into positions and
Arrow joins each column's pieces to take them: ``frame[mask]`` cost 1.2 s per text column,
while filtering each column by the mask (chunk by chunk) costs about 4 ms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["select_rows"]


def select_rows(frame: pd.DataFrame, keep: np.ndarray | pd.Series) -> pd.DataFrame:
    """``frame[keep]`` (a boolean mask, missing = False), a column at a time."""
    mask = keep.to_numpy(dtype=bool, na_value=False) if isinstance(keep, pd.Series) else np.asarray(keep, dtype=bool)
    data = {name: frame[name].array[mask] for name in frame.columns}
    return pd.DataFrame(data, index=frame.index[mask], columns=frame.columns)
