"""Parameter checks that raise :class:`InvalidArgument` in the house wording.

"The 'alpha' parameter of welch_ttest must be a float in (0, 1). Got 1.5 instead."
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import numpy as np
import numpy.typing as npt

from steward.core.errors import InvalidArgument

FloatArray = npt.NDArray[np.float64]

ALTERNATIVES = ("two-sided", "greater", "less")
SPLIT_TOLERANCE = 1e-9


def _is_real(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return str(int(x)) if float(x).is_integer() else str(x)


def check_float(
    value: object,
    *,
    name: str,
    owner: str,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = True,
    high_open: bool = True,
) -> float:
    """Return ``value`` as a float if it is finite and lies in the interval, else raise."""
    ok = _is_real(value) and math.isfinite(float(value))  # type: ignore[arg-type]
    if ok:
        v = float(value)  # type: ignore[arg-type]
        ok = (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not ok:
        interval = f"{'(' if low_open else '['}{_fmt(low)}, {_fmt(high)}{')' if high_open else ']'}"
        raise InvalidArgument(
            f"The {name!r} parameter of {owner} must be a finite float in {interval}. Got {value!r} instead.",
            field=name,
        )
    return float(value)  # type: ignore[arg-type]


def check_alpha(value: object, *, owner: str, name: str = "alpha") -> float:
    return check_float(value, name=name, owner=owner, low=0.0, high=1.0)


def check_int(value: object, *, name: str, owner: str, low: int) -> int:
    """Return ``value`` as an int if it is an integer ``>= low``, else raise."""
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < low:
        raise InvalidArgument(
            f"The {name!r} parameter of {owner} must be an int >= {low}. Got {value!r} instead.",
            field=name,
        )
    return int(value)


def check_choice(value: object, *, name: str, owner: str, choices: Collection[object]) -> None:
    if value not in choices:
        shown = ", ".join(repr(c) for c in choices)
        raise InvalidArgument(
            f"The {name!r} parameter of {owner} must be one of {shown}. Got {value!r} instead.",
            field=name,
        )


def check_alternative(value: object, *, owner: str) -> str:
    check_choice(value, name="alternative", owner=owner, choices=ALTERNATIVES)
    return str(value)


def check_sample(
    values: object,
    *,
    name: str,
    owner: str,
    min_size: int = 1,
    noun: str = "parameter",
    field: str | None = None,
) -> FloatArray:
    """Return ``values`` as a 1-D float64 array of finite numbers with at least ``min_size`` items.

    ``noun`` and ``field`` let a data frame's column be named as such in the message.
    """
    what = f"The {name!r} {noun} of {owner}"
    field = name if field is None else field
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"{what} must hold numbers only. Got: {exc}.", field=field) from exc
    if array.ndim != 1:
        raise InvalidArgument(f"{what} must be 1-D. Got an array of shape {array.shape}.", field=field)
    if array.size < min_size:
        plural = "s" if min_size > 1 else ""
        raise InvalidArgument(f"{what} must hold at least {min_size} value{plural}. Got {array.size}.", field=field)
    if not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise InvalidArgument(f"{what} must hold finite numbers only. Got {bad} NaN or infinite value(s).", field=field)
    return array


def check_binary(
    array: FloatArray, *, name: str, owner: str, noun: str = "parameter", field: str | None = None
) -> FloatArray:
    """Raise unless every value of ``array`` is 0 or 1 (a conversion-style metric)."""
    if not np.all((array == 0.0) | (array == 1.0)):
        raise InvalidArgument(
            f"The {name!r} {noun} of {owner} must hold 0/1 values for a proportion metric.",
            field=name if field is None else field,
        )
    return array


def check_split(
    weights: object, *, name: str, owner: str, size: int | None = None, allow_zero: bool = True
) -> tuple[float, ...]:
    """Return the traffic split as floats: finite, non-negative (or positive), summing to 1."""
    if not isinstance(weights, Sequence | np.ndarray) or isinstance(weights, str):
        raise InvalidArgument(
            f"The {name!r} parameter of {owner} must be a sequence of floats. Got {weights!r} instead.",
            field=name,
        )
    values = list(weights)
    if size is not None and len(values) != size:
        raise InvalidArgument(
            f"The {name!r} parameter of {owner} must have {size} entries, one per variant. Got {len(values)}.",
            field=name,
        )
    floor = "non-negative" if allow_zero else "positive"
    for w in values:
        if not _is_real(w) or not math.isfinite(float(w)) or float(w) < 0 or (not allow_zero and w == 0):
            raise InvalidArgument(
                f"The {name!r} parameter of {owner} must hold {floor} finite floats. Got {values!r}.",
                field=name,
            )
    total = math.fsum(float(w) for w in values)
    if abs(total - 1.0) > SPLIT_TOLERANCE:
        raise InvalidArgument(
            f"The {name!r} parameter of {owner} must sum to 1. Got {values!r}, which sums to {total!r}.",
            field=name,
        )
    return tuple(float(w) for w in values)
