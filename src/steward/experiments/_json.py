"""Turn result dataclasses into JSON-safe dicts (non-finite floats become ``None``)."""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def jsonable(value: Any) -> Any:
    """Recursively convert dataclasses, enums, numpy scalars and containers to JSON types.

    ``NaN`` and infinite floats (an open one-sided confidence bound, say) become ``None`` so that
    ``json.dumps(..., allow_nan=False)`` accepts the result.
    """
    to_dict = getattr(value, "to_dict", None)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if callable(to_dict):
            return to_dict()
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(v) for v in value]
    raise TypeError(f"Cannot convert {type(value).__name__} to JSON.")


def fields_dict(obj: Any) -> dict[str, Any]:
    """The dataclass fields of ``obj`` made JSON-safe (for ``to_dict`` methods)."""
    return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
