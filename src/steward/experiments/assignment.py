"""Deterministic, sticky assignment of units (users, sessions) to the variants of an experiment.

A unit's bucket is a number in ``[0, 1)`` read off the SHA-256 digest of the experiment's salt
and the unit id, so that

- the same unit always lands in the same variant of an experiment (sticky, across processes,
  machines and releases: never Python's ``hash()``, which is salted per process);
- buckets are uniform, so a split of ``(0.9, 0.1)`` sends 10% of units to the second variant;
- two experiments with different salts assign independently of each other.

The hashed message is ``f"{len(salt_bytes)}:{salt}:{unit_id}"`` in UTF-8. The length prefix
keeps salt and id apart (salt ``"a:b"`` with id ``"c"`` differs from salt ``"a"`` with id
``"b:c"``). The bucket is the first 53 bits of the digest divided by ``2**53``: exact in a float
and strictly below 1. Integer ids hash as their decimal text, so ``42`` and ``"42"`` agree.

Variants own consecutive ranges of ``[0, 1)`` in the order given: with weights ``(0.5, 0.5)``
buckets below 0.5 go to the first variant. Changing the weights moves only the units whose
bucket falls between the old and the new boundary.

Example:
    >>> assigner = Assigner(salt="checkout-button", variants=("control", "treatment"), weights=(0.5, 0.5))
    >>> assigner.assign("user-42")
    'treatment'
    >>> assigner.assign("user-42") == Assigner(salt="checkout-button").assign("user-42")
    True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from steward.core.errors import InvalidArgument
from steward.experiments._validation import FloatArray, check_split

UnitId = str | int

_BITS = 53
_SCALE = float(2**_BITS)


def _id_bytes(unit_id: UnitId) -> bytes:
    if type(unit_id) is str:  # the common case first: ids are mostly strings
        return unit_id.encode("utf-8")
    if isinstance(unit_id, bool) or not isinstance(unit_id, str | int | np.integer):
        raise InvalidArgument(
            f"The 'unit_id' parameter must be a str or an int. Got {type(unit_id).__name__} {unit_id!r}.",
            field="unit_id",
        )
    return str(unit_id).encode("utf-8")


def _prefix(salt: object, owner: str) -> bytes:
    if not isinstance(salt, str) or not salt:
        raise InvalidArgument(
            f"The 'salt' parameter of {owner} must be a non-empty str. Got {salt!r} instead.",
            field="salt",
        )
    salt_bytes = salt.encode("utf-8")
    return f"{len(salt_bytes)}:".encode() + salt_bytes + b":"


def _to_unit_interval(first_bytes: bytes) -> FloatArray:
    words = np.frombuffer(first_bytes, dtype=">u8") >> np.uint64(64 - _BITS)
    return words.astype(np.float64) / _SCALE


def bucket(unit_id: UnitId, salt: str) -> float:
    """The unit's position in ``[0, 1)`` for the experiment salted with ``salt``.

    >>> bucket("user-42", "checkout-button")
    0.6290141869889393
    """
    digest = hashlib.sha256(_prefix(salt, "bucket") + _id_bytes(unit_id)).digest()
    return float(_to_unit_interval(digest[:8])[0])


def buckets(unit_ids: Iterable[UnitId], salt: str) -> FloatArray:
    """:func:`bucket` for many ids at once, as a float64 array."""
    prefix = _prefix(salt, "buckets")
    sha256 = hashlib.sha256
    return _to_unit_interval(b"".join(sha256(prefix + _id_bytes(u)).digest()[:8] for u in unit_ids))


@dataclass(frozen=True)
class Assigner:
    """Sticky assignment of unit ids to ``variants`` in proportion to ``weights``.

    Parameters:
        salt: one per experiment (its key, say); different salts assign independently.
        variants: two or more distinct, non-empty names; the first is the control.
        weights: the traffic split, non-negative and summing to 1; equal shares when omitted.
            A zero weight pauses a variant (it receives no new units).
    """

    salt: str
    variants: tuple[str, ...] = ("control", "treatment")
    weights: tuple[float, ...] | None = None
    _edges: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        owner = "Assigner"
        _prefix(self.salt, owner)
        variants = tuple(self.variants) if isinstance(self.variants, Sequence) else ()
        if (
            len(variants) < 2
            or not all(isinstance(v, str) and v for v in variants)
            or len(set(variants)) != len(variants)
        ):
            raise InvalidArgument(
                f"The 'variants' parameter of {owner} must name two or more distinct, non-empty "
                f"variants. Got {self.variants!r} instead.",
                field="variants",
            )
        object.__setattr__(self, "variants", variants)
        if self.weights is None:
            weights = tuple(1.0 / len(variants) for _ in variants)
        else:
            weights = check_split(self.weights, name="weights", owner=owner, size=len(variants))
        object.__setattr__(self, "weights", weights)
        edges = np.cumsum(np.asarray(weights, dtype=np.float64))
        edges[-1] = 1.0  # float sums may fall short of 1; the last variant owns the rest
        object.__setattr__(self, "_edges", edges)

    def get_params(self) -> dict[str, Any]:
        return {"salt": self.salt, "variants": self.variants, "weights": self.weights}

    @property
    def split(self) -> dict[str, float]:
        """The traffic split as ``{variant: weight}``."""
        assert self.weights is not None
        return dict(zip(self.variants, self.weights, strict=True))

    def _variant_index(self, positions: FloatArray) -> npt.NDArray[np.intp]:
        return np.searchsorted(self._edges, positions, side="right")

    def bucket(self, unit_id: UnitId) -> float:
        return bucket(unit_id, self.salt)

    def assign(self, unit_id: UnitId) -> str:
        """The variant of one unit."""
        index = int(self._variant_index(np.asarray([self.bucket(unit_id)]))[0])
        return self.variants[index]

    def assign_many(self, unit_ids: Iterable[UnitId]) -> list[str]:
        """The variants of many units, in order."""
        indices = self._variant_index(buckets(unit_ids, self.salt))
        return [self.variants[int(i)] for i in indices]
