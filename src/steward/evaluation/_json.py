"""Convert evaluation results to plain JSON-safe Python (NaN and infinities become ``None``)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import BaseModel


def jsonable(value: Any) -> Any:
    """Recursively turn dataclasses, pydantic models, NumPy values and tuples into JSON types."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, BaseModel):
        return jsonable(value.model_dump())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.repr}
        for extra in ("name", "passed"):
            if isinstance(getattr(type(value), extra, None), property):
                data[extra] = getattr(value, extra)
        return jsonable(data)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return str(value)
