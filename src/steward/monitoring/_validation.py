"""Parameter checks that raise :class:`InvalidArgument` in the house wording.

"The 'threshold' parameter of PsiDrift must be a float in (0, 1]. Got 1.5 instead."
"""

from __future__ import annotations

import math
from collections.abc import Collection

from steward.core.errors import InvalidArgument


def _is_real(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_float(
    value: object,
    *,
    name: str,
    owner: str,
    low: float,
    high: float,
    low_open: bool = True,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a float if it lies in the interval, else raise ``InvalidArgument``."""
    ok = _is_real(value) and math.isfinite(float(value))  # type: ignore[arg-type]
    if ok:
        v = float(value)  # type: ignore[arg-type]
        ok = (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not ok:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        interval = f"{left}{_fmt(low)}, {_fmt(high)}{right}"
        raise InvalidArgument(
            f"The {name!r} parameter of {owner} must be a float in {interval}. Got {value!r} instead.",
            field=name,
        )
    return float(value)  # type: ignore[arg-type]


def check_int(value: object, *, name: str, owner: str, low: int) -> int:
    """Return ``value`` if it is an int ``>= low``, else raise ``InvalidArgument``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise InvalidArgument(
            f"The {name!r} parameter of {owner} must be an int >= {low}. Got {value!r} instead.",
            field=name,
        )
    return value


def check_choice(value: object, *, name: str, owner: str, choices: Collection[object]) -> None:
    """Raise ``InvalidArgument`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        shown = ", ".join(repr(c) for c in sorted(choices, key=str))
        raise InvalidArgument(
            f"The {name!r} parameter of {owner} must be one of {shown}. Got {value!r} instead.",
            field=name,
        )


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return str(int(x)) if float(x).is_integer() else str(x)
