"""Input checks shared by the evaluation modules.

Every public function funnels its arrays through these helpers so that bad input fails early
with an :class:`~steward.core.errors.InvalidArgument` that names the parameter, the rule and
the value, instead of a NumPy or scikit-learn traceback deep inside a computation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from steward.core.errors import InvalidArgument

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


def as_1d(values: ArrayLike | None, name: str) -> NDArray[Any]:
    """Return ``values`` as a non-empty 1-D array, or raise ``InvalidArgument``."""
    if values is None:
        raise InvalidArgument(f"The {name!r} parameter is required. Got None instead.", field=name)
    array: NDArray[Any]
    if isinstance(values, pd.Series | pd.Index | pd.DataFrame):
        array = np.asarray(values.to_numpy())
    else:
        array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise InvalidArgument(
            f"The {name!r} parameter must be a 1-D array. Got an array of shape {array.shape} instead.",
            field=name,
        )
    if array.shape[0] == 0:
        raise InvalidArgument(
            f"The {name!r} parameter must be a non-empty array. Got an empty array instead.", field=name
        )
    return array


def as_float_1d(values: ArrayLike | None, name: str) -> FloatArray:
    """Return ``values`` as a finite float64 1-D array."""
    array = as_1d(values, name)
    return _finite_float(array, name)


def as_float_2d(values: ArrayLike, name: str) -> FloatArray:
    """Return ``values`` as a finite float64 2-D array with at least one row."""
    array = values.to_numpy() if isinstance(values, pd.DataFrame) else np.asarray(values)
    if array.ndim != 2 or array.shape[0] == 0:
        raise InvalidArgument(
            f"The {name!r} parameter must be a non-empty 2-D array. Got shape {array.shape} instead.",
            field=name,
        )
    return _finite_float(array, name)


def _finite_float(array: NDArray[Any], name: str) -> FloatArray:
    if array.dtype.kind not in "biuf":
        raise InvalidArgument(f"The {name!r} parameter must be numeric. Got dtype {array.dtype} instead.", field=name)
    result = np.asarray(array, dtype=np.float64)
    if not np.isfinite(result).all():
        bad = int((~np.isfinite(result)).sum())
        raise InvalidArgument(
            f"The {name!r} parameter must contain only finite values. Got {bad} NaN or infinite "
            f"value(s) out of {result.size}.",
            field=name,
        )
    return result


def check_probabilities(values: FloatArray, name: str) -> FloatArray:
    """Reject probabilities outside [0, 1]."""
    low, high = float(values.min()), float(values.max())
    if low < 0.0 or high > 1.0:
        raise InvalidArgument(
            f"The {name!r} parameter must hold probabilities in [0, 1]. Got values in [{low:.6g}, {high:.6g}] instead.",
            field=name,
        )
    return values


def check_same_length(**arrays: NDArray[Any] | None) -> int:
    """Return the common first dimension of ``arrays``; raise when they are misaligned."""
    lengths = {name: a.shape[0] for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name}={n}" for name, n in lengths.items())
        first = next(iter(lengths))
        raise InvalidArgument(
            f"The parameters {', '.join(repr(n) for n in lengths)} must have the same number of rows. "
            f"Got {listed} instead.",
            field=first,
            lengths=lengths,
        )
    return int(next(iter(lengths.values())))


def check_sample_weight(sample_weight: ArrayLike | None, n: int) -> FloatArray | None:
    """Return finite, non-negative weights of length ``n`` with a positive sum, or ``None``."""
    if sample_weight is None:
        return None
    weights = as_float_1d(sample_weight, "sample_weight")
    if weights.shape[0] != n:
        raise InvalidArgument(
            f"The 'sample_weight' parameter must have one weight per row ({n}). Got {weights.shape[0]} instead.",
            field="sample_weight",
        )
    if float(weights.min()) < 0.0:
        raise InvalidArgument(
            f"The 'sample_weight' parameter must be non-negative. Got a minimum of {weights.min():.6g}.",
            field="sample_weight",
        )
    if float(weights.sum()) <= 0.0:
        raise InvalidArgument(
            "The 'sample_weight' parameter must have a positive sum. Got all zeros.", field="sample_weight"
        )
    return weights


def check_labels(values: ArrayLike | None, name: str) -> NDArray[Any]:
    """Return class labels as a 1-D array without missing values."""
    array = as_1d(values, name)
    missing = pd.isna(array)
    if missing.any():
        raise InvalidArgument(
            f"The {name!r} parameter must not contain missing labels. Got {int(missing.sum())} "
            f"missing value(s) out of {array.shape[0]}.",
            field=name,
        )
    return array


def unique_labels(*arrays: NDArray[Any], names: tuple[str, ...] = ("y_true", "y_pred")) -> NDArray[Any]:
    """Sorted union of the labels in ``arrays`` (scikit-learn's ``unique_labels`` order)."""
    kinds = ["number" if a.dtype.kind in "biuf" else "string" if a.dtype.kind in "US" else "other" for a in arrays]
    if "number" in kinds and "string" in kinds:
        listed = ", ".join(f"{n} holds {k}s" for n, k in zip(names, kinds, strict=False))
        raise InvalidArgument(
            f"Labels must be of one comparable type (all numbers or all strings). Got: {listed}.",
            field=names[min(len(names), len(arrays)) - 1],
        )
    try:
        return np.unique(np.concatenate([np.unique(a) for a in arrays]))
    except TypeError as exc:
        raise InvalidArgument(
            f"Labels must be of one comparable type (all numbers or all strings). Got {exc}.",
            field=names[0],
        ) from exc


def encode(values: NDArray[Any], classes: NDArray[Any], name: str) -> IntArray:
    """Map labels to their index in ``classes``; unknown labels raise."""
    codes = np.searchsorted(classes, values)
    codes = np.clip(codes, 0, classes.shape[0] - 1)
    unknown = classes[codes] != values
    if np.any(unknown):
        example = values[np.argmax(unknown)]
        raise InvalidArgument(
            f"The {name!r} parameter holds a label that is not among the classes {classes.tolist()!r}. "
            f"Got {example!r}.",
            field=name,
        )
    return codes.astype(np.intp)


def resolve_pos_label(classes: NDArray[Any], pos_label: Any, name: str = "pos_label") -> int:
    """Index of the positive class: ``pos_label`` if given, else the larger of two classes."""
    if pos_label is None:
        return int(classes.shape[0] - 1)
    matches = np.flatnonzero(classes == pos_label)
    if matches.size == 0:
        raise InvalidArgument(
            f"The {name!r} parameter must be one of the classes {classes.tolist()!r}. Got {pos_label!r}.",
            field=name,
        )
    return int(matches[0])


def check_two_classes(y_true: NDArray[Any], name: str = "y_true") -> None:
    """Raise when ``y_true`` holds a single class (ranking metrics are undefined then)."""
    values = np.unique(y_true)
    if values.shape[0] < 2:
        raise InvalidArgument(
            f"The {name!r} parameter must contain at least two classes for this metric. Got only {values.tolist()!r}.",
            field=name,
        )


def check_in_range(value: float, name: str, low: float, high: float, *, inclusive: bool = False) -> float:
    """Check a scalar parameter lies in (low, high) or [low, high]."""
    ok = low <= value <= high if inclusive else low < value < high
    if not ok or not np.isfinite(value):
        brackets = f"[{low}, {high}]" if inclusive else f"({low}, {high})"
        raise InvalidArgument(
            f"The {name!r} parameter must be a number in {brackets}. Got {value!r} instead.", field=name
        )
    return float(value)


def check_positive_int(value: int, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InvalidArgument(
            f"The {name!r} parameter must be an integer >= {minimum}. Got {value!r} instead.", field=name
        )
    return int(value)


def safe_div(numerator: Any, denominator: Any, default: float = 0.0) -> Any:
    """Elementwise ``numerator / denominator`` with ``default`` where the denominator is 0."""
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, default, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out if out.ndim else float(out)


def weighted_bincount(codes: IntArray, weights: FloatArray | None, minlength: int) -> FloatArray:
    """``np.bincount`` as float64 (weighted sums per code, or counts)."""
    return np.asarray(np.bincount(codes, weights=weights, minlength=minlength), dtype=np.float64)


def dot(a: FloatArray, b: FloatArray) -> float:
    """Inner product of two 1-D arrays, single-threaded.

    ``np.dot`` hands vectors to a multi-threaded BLAS, which is slower than one core for these
    sizes and stalls badly when the bootstrap's own threads or other processes hold the cores.
    """
    return float(np.einsum("i,i->", a, b))
