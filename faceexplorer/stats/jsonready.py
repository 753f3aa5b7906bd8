"""Plain JSON-ready copies of report values: what ``--json`` prints and the views read.

One converter for every report: numpy scalars and arrays become Python numbers and
lists, DataFrames lists of records, NaN and pandas' NA become None (so ``json.dumps``
with ``allow_nan=False`` succeeds), and mapping keys become strings.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def json_ready(value: Any) -> Any:
    """A JSON-ready copy of ``value`` (recursively)."""
    if isinstance(value, pd.DataFrame):
        return [json_ready(r) for r in value.to_dict(orient="records")]
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
