"""Mergeable column summaries, so that a window is never a whole DataFrame in memory.

A window of a prediction log is read batch by batch (Parquet row groups, Dask partitions);
each batch updates one sketch per column, and sketches of batches, partitions or hours merge
into the sketch of the window. ``merge`` is associative and commutative: the order in which
partitions arrive does not change the result (exactly for counts, histograms, extrema, value
counts and the sample; to floating-point rounding for the mean and variance).

:class:`NumericSketch` keeps

* ``count_`` (finite values) and ``null_count_`` (NaN, None, +-inf: the peers drop them too),
* the mean and the sum of squared deviations, merged with Chan et al.'s parallel form of
  Welford's update,
* ``min_`` / ``max_``,
* optional fixed-bin counts (``edges``: underflow, one count per bin, overflow),
* exact value counts while the column has at most ``DISTINCT_LIMIT`` distinct values,
* a **bottom-k sample**: every value gets an independent uniform priority when it arrives and
  the sketch keeps the ``sample_cap`` values with the smallest priorities. While
  ``count_ <= sample_cap`` the sample *is* the data (``is_exact``) and every statistic computed
  from it equals the one computed on the raw column. Beyond the cap it is a uniform random
  sample without replacement of the whole stream, whatever the batching and merge order.

Error beyond the cap (``k = sample_cap``, default 100,000): by the Dvoretzky-Kiefer-Wolfowitz
inequality the sample CDF is within ``sqrt(ln(2/delta) / (2k))`` of the stream's CDF everywhere
with probability ``1 - delta``: 0.0051 for ``delta = 0.01`` (rank error of any quantile, and
the error of a KS distance). The Wasserstein distance of the sample to the stream is of order
``1/sqrt(k)`` standard deviations (about 0.003 sd for Gaussian data), against drift thresholds
of 0.1 sd. P-value tests computed on the sample remain valid tests (a subsample of i.i.d. data
is i.i.d.); they have the power of a test on ``k`` rows.

:class:`CategoricalSketch` keeps exact value counts (a dict) and the null count.

Example:
    >>> import numpy as np
    >>> a = NumericSketch(random_state=1).update(np.arange(5.0))
    >>> b = NumericSketch(random_state=2).update([5.0, 6.0, None])
    >>> ab = a.merge(b)
    >>> ab.count_, ab.null_count_, ab.mean_, ab.is_exact
    (7, 1, 3.0, True)
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal, Self, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from steward.core.errors import InvalidArgument
from steward.monitoring._validation import check_int

DEFAULT_SAMPLE_CAP = 100_000
DISTINCT_LIMIT = 64
_BLOCK = 1 << 15
ColumnKind: TypeAlias = Literal["numerical", "categorical"]
FloatArray: TypeAlias = npt.NDArray[np.float64]


def _as_float_array(values: object) -> FloatArray:
    if isinstance(values, pd.Series | pd.Index):
        return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    arr = np.asarray(values)
    if arr.dtype == object:
        arr = pd.Series(arr).to_numpy(dtype=np.float64, na_value=np.nan)
    return np.ascontiguousarray(arr, dtype=np.float64).ravel()


def _bottom_k(prio: FloatArray, values: FloatArray, k: int) -> tuple[FloatArray, FloatArray]:
    """The ``k`` pairs with the smallest priorities; ties broken by value, so the result is a
    function of the multiset of pairs alone (what makes ``merge`` associative)."""
    if prio.size <= k:
        return prio, values
    kth = np.partition(prio, k - 1)[k - 1]
    below = np.flatnonzero(prio < kth)
    tied = np.flatnonzero(prio == kth)
    need = k - below.size
    if tied.size > need:
        tied = tied[np.argsort(values[tied], kind="stable")[:need]]
    keep = np.concatenate([below, tied])
    return prio[keep], values[keep]


def _sum_sq_dev(x: FloatArray, mean: float) -> float:
    """``sum((x - mean)**2)``: one BLAS pass when the mean is small beside the spread (relative
    rounding error ``eps * (1 + mean**2 / var)`` below 1e-10), else two passes in blocks."""
    sumsq = float(x @ x)
    m2 = sumsq - x.size * mean * mean
    if m2 > 1e-6 * sumsq:
        return m2
    total = 0.0
    for i in range(0, x.size, _BLOCK):
        d = x[i : i + _BLOCK] - mean
        total += float(d @ d)
    return total


def _bernoulli_positions(rng: np.random.Generator, n: int, p: float) -> npt.NDArray[np.int64]:
    """Positions in ``range(n)`` each chosen independently with probability ``p`` (geometric skips)."""
    expected = n * p
    chunks: list[npt.NDArray[np.int64]] = []
    last = -1
    while last < n:
        gaps = rng.geometric(p, size=int(expected + 6 * math.sqrt(expected) + 64))
        pos = last + np.cumsum(gaps)
        chunks.append(pos)
        last = int(pos[-1])
    allpos = np.concatenate(chunks)
    return allpos[allpos < n]


class NumericSketch:
    """Mergeable summary of a numeric column (see the module docstring for what it keeps).

    Parameters:
        sample_cap: size of the bottom-k sample; the sketch is exact up to this many values.
        edges: optional increasing bin edges for fixed-bin counts (``len(edges) + 1`` counts:
            below ``edges[0]``, each ``[edges[i], edges[i+1])``, and from ``edges[-1]`` up).
        random_state: seed of the priorities given to arriving values.
    """

    kind: ClassVar[ColumnKind] = "numerical"

    def __init__(
        self,
        *,
        sample_cap: int = DEFAULT_SAMPLE_CAP,
        edges: Sequence[float] | None = None,
        random_state: int | np.random.SeedSequence | None = None,
    ) -> None:
        self.sample_cap = check_int(sample_cap, name="sample_cap", owner="NumericSketch", low=1)
        self.edges = None if edges is None else tuple(float(e) for e in edges)
        if self.edges is not None and (
            len(self.edges) < 1
            or not all(math.isfinite(e) for e in self.edges)
            or any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False))
        ):
            raise InvalidArgument(
                "The 'edges' parameter of NumericSketch must be a non-empty strictly increasing "
                f"sequence of finite floats. Got {edges!r} instead.",
                field="edges",
            )
        self.random_state = random_state
        self._rng = np.random.default_rng(random_state)
        self.count_ = 0
        self.null_count_ = 0
        self.mean_ = 0.0
        self.m2_ = 0.0
        self.min_ = math.inf
        self.max_ = -math.inf
        self.bin_counts_: npt.NDArray[np.int64] | None = (
            None if self.edges is None else np.zeros(len(self.edges) + 1, dtype=np.int64)
        )
        self.value_counts_: dict[float, int] | None = {}
        self.sample_: FloatArray = np.empty(0)
        self.priorities_: FloatArray = np.empty(0)
        self._sorted: FloatArray | None = None

    def get_params(self) -> dict[str, Any]:
        return {"sample_cap": self.sample_cap, "edges": self.edges, "random_state": self.random_state}

    # -- reading ---------------------------------------------------------------------------
    @property
    def is_exact(self) -> bool:
        """True while the sample holds every value seen."""
        return self.count_ <= self.sample_cap

    @property
    def variance_(self) -> float:
        """Population variance (``ddof=0``, as ``np.var`` and the peers' ``np.std``)."""
        return self.m2_ / self.count_ if self.count_ else math.nan

    @property
    def std_(self) -> float:
        return math.sqrt(self.variance_) if self.count_ else math.nan

    def sorted_sample(self) -> FloatArray:
        """The sample sorted ascending (cached until the next update)."""
        if self._sorted is None:
            self._sorted = np.sort(self.sample_)
        return self._sorted

    @property
    def n_unique(self) -> int:
        """Distinct finite values: exact up to ``DISTINCT_LIMIT``, else a lower bound above it."""
        if self.value_counts_ is not None:
            return len(self.value_counts_)
        return DISTINCT_LIMIT + 1

    def quantile(self, q: float | Sequence[float]) -> FloatArray:
        """Quantiles (numpy's linear interpolation) of the sample: exact while ``is_exact``."""
        if self.count_ == 0:
            raise InvalidArgument("Cannot take a quantile of an empty NumericSketch.", field="q")
        return np.atleast_1d(np.quantile(self.sorted_sample(), q))

    # -- writing ---------------------------------------------------------------------------
    def update(self, values: object) -> Self:
        """Add a batch of values (array-like; NaN, None and +-inf count as nulls)."""
        x = _as_float_array(values)
        finite = np.isfinite(x)
        valid = x if finite.all() else x[finite]
        n = int(valid.size)
        self.null_count_ += int(x.size) - n
        if n == 0:
            return self
        mean = float(valid.mean())
        m2 = _sum_sq_dev(valid, mean)
        self._merge_moments(n, mean, m2, float(valid.min()), float(valid.max()))
        if self.bin_counts_ is not None and self.edges is not None:
            idx = np.searchsorted(np.asarray(self.edges), valid, side="right")
            self.bin_counts_ += np.bincount(idx, minlength=len(self.edges) + 1)
        self._update_value_counts(valid)
        self._update_sample(valid)
        self._sorted = None
        return self

    def _merge_moments(self, n: int, mean: float, m2: float, lo: float, hi: float) -> None:
        total = self.count_ + n
        delta = mean - self.mean_
        self.mean_ += delta * n / total
        self.m2_ += m2 + delta * delta * self.count_ * n / total
        self.count_ = total
        self.min_ = min(self.min_, lo)
        self.max_ = max(self.max_, hi)

    def _update_value_counts(self, valid: FloatArray) -> None:
        if self.value_counts_ is None:
            return
        # A cheap look at the head first: continuous columns leave the exact-count mode at once.
        if np.unique(valid[: 4 * DISTINCT_LIMIT]).size > DISTINCT_LIMIT:
            self.value_counts_ = None
            return
        keys, counts = np.unique(valid, return_counts=True)
        merged = dict(self.value_counts_)
        for key, c in zip(keys.tolist(), counts.tolist(), strict=True):
            merged[key] = merged.get(key, 0) + c
        self.value_counts_ = merged if len(merged) <= DISTINCT_LIMIT else None

    def _update_sample(self, valid: FloatArray) -> None:
        k = self.sample_cap
        n = valid.size
        full = self.priorities_.size >= k
        cut = float(self.priorities_.max()) if full else min(1.0, (k + 8 * math.sqrt(k) + 16) / n)
        if cut < 0.5:
            # Only values whose priority falls below ``cut`` can enter the bottom k: draw which
            # positions those are (each with probability ``cut``) and their priorities
            # (uniform below ``cut``); the rest get uniform priorities above ``cut`` only if
            # they are needed. Same distribution as drawing every priority.
            pos = _bernoulli_positions(self._rng, n, cut)
            if full or pos.size >= k:
                prio, valid = self._rng.random(pos.size) * cut, valid[pos]
            else:
                prio = cut + (1.0 - cut) * self._rng.random(n)
                prio[pos] = self._rng.random(pos.size) * cut
        else:
            prio = self._rng.random(n)
        self.priorities_, self.sample_ = _bottom_k(
            np.concatenate([self.priorities_, prio]), np.concatenate([self.sample_, valid]), k
        )

    def merge(self, other: NumericSketch) -> NumericSketch:
        """A new sketch summarising both inputs (neither input changes)."""
        if not isinstance(other, NumericSketch):
            raise InvalidArgument(
                f"NumericSketch.merge needs a NumericSketch. Got {type(other).__name__} instead.",
                field="other",
            )
        if other.sample_cap != self.sample_cap or other.edges != self.edges:
            raise InvalidArgument(
                "Sketches merge only with the same 'sample_cap' and 'edges'. Got "
                f"{self.sample_cap}/{other.sample_cap} and {self.edges}/{other.edges} instead.",
                field="other",
            )
        out = NumericSketch(sample_cap=self.sample_cap, edges=self.edges)
        out._rng = self._rng.spawn(1)[0]
        out.count_, out.mean_, out.m2_ = self.count_, self.mean_, self.m2_
        out.min_, out.max_ = self.min_, self.max_
        if other.count_:
            out._merge_moments(other.count_, other.mean_, other.m2_, other.min_, other.max_)
        out.null_count_ = self.null_count_ + other.null_count_
        if self.bin_counts_ is not None and other.bin_counts_ is not None:
            out.bin_counts_ = self.bin_counts_ + other.bin_counts_
        out.value_counts_ = _merge_counts(self.value_counts_, other.value_counts_, DISTINCT_LIMIT)
        out.priorities_, out.sample_ = _bottom_k(
            np.concatenate([self.priorities_, other.priorities_]),
            np.concatenate([self.sample_, other.sample_]),
            self.sample_cap,
        )
        return out


def _merge_counts(a: Mapping[Any, int] | None, b: Mapping[Any, int] | None, limit: int | None) -> dict[Any, int] | None:
    if a is None or b is None:
        return None
    merged = dict(a)
    for key, c in b.items():
        merged[key] = merged.get(key, 0) + c
    return None if limit is not None and len(merged) > limit else merged


class CategoricalSketch:
    """Exact value counts of a categorical column (mergeable by adding counts).

    Example:
        >>> s = CategoricalSketch().update(["a", "b", "a", None])
        >>> s.counts_, s.count_, s.null_count_
        ({'a': 2, 'b': 1}, 3, 1)
    """

    kind: ClassVar[ColumnKind] = "categorical"

    def __init__(self) -> None:
        self.counts_: dict[Hashable, int] = {}
        self.count_ = 0
        self.null_count_ = 0

    def get_params(self) -> dict[str, Any]:
        return {}

    is_exact: ClassVar[bool] = True

    @property
    def n_unique(self) -> int:
        return len(self.counts_)

    def update(self, values: object) -> Self:
        """Add a batch of values (array-like; None / NaN count as nulls)."""
        s = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object))
        vc = s.value_counts(dropna=True, sort=False)
        vc = vc[vc.to_numpy() > 0]
        n = int(vc.sum())
        self.null_count_ += int(s.size) - n
        self.count_ += n
        merged = _merge_counts(self.counts_, dict(zip(vc.index.tolist(), vc.tolist(), strict=True)), None)
        assert merged is not None
        self.counts_ = merged
        return self

    def merge(self, other: CategoricalSketch) -> CategoricalSketch:
        """A new sketch summarising both inputs (neither input changes)."""
        if not isinstance(other, CategoricalSketch):
            raise InvalidArgument(
                f"CategoricalSketch.merge needs a CategoricalSketch. Got {type(other).__name__} instead.",
                field="other",
            )
        out = CategoricalSketch()
        merged = _merge_counts(self.counts_, other.counts_, None)
        assert merged is not None
        out.counts_ = merged
        out.count_ = self.count_ + other.count_
        out.null_count_ = self.null_count_ + other.null_count_
        return out


ColumnSketch: TypeAlias = NumericSketch | CategoricalSketch


def infer_kind(values: object) -> ColumnKind:
    """``numerical`` for int/float dtypes (not bool), else ``categorical``."""
    dtype = values.dtype if isinstance(values, pd.Series) else np.asarray(values).dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return "categorical"
    return "numerical"


def sketch_column(
    values: object,
    kind: ColumnKind | None = None,
    *,
    sample_cap: int | None = None,
    random_state: int | np.random.SeedSequence | None = None,
) -> ColumnSketch:
    """Sketch one column. ``sample_cap=None`` keeps every value (an exact sketch)."""
    if isinstance(values, NumericSketch | CategoricalSketch):
        return values
    kind = kind or infer_kind(values)
    if kind == "categorical":
        return CategoricalSketch().update(values)
    n = len(values) if hasattr(values, "__len__") else np.asarray(values).size
    cap = max(1, n) if sample_cap is None else sample_cap
    return NumericSketch(sample_cap=cap, random_state=random_state).update(values)


def sketch_frame(
    data: pd.DataFrame | Iterable[pd.DataFrame],
    kinds: Mapping[str, ColumnKind],
    *,
    sample_cap: int = DEFAULT_SAMPLE_CAP,
    random_state: int | np.random.SeedSequence | None = None,
) -> dict[str, ColumnSketch]:
    """Sketch the named columns of a DataFrame, or of an iterable of DataFrame batches."""
    root = random_state if isinstance(random_state, np.random.SeedSequence) else np.random.SeedSequence(random_state)
    seeds = root.spawn(len(kinds))
    sketches: dict[str, ColumnSketch] = {
        col: NumericSketch(sample_cap=sample_cap, random_state=seed) if kind == "numerical" else CategoricalSketch()
        for (col, kind), seed in zip(kinds.items(), seeds, strict=True)
    }
    batches = [data] if isinstance(data, pd.DataFrame) else data
    for batch in batches:
        missing = [c for c in kinds if c not in batch.columns]
        if missing:
            raise InvalidArgument(f"Columns {missing} are missing from the data.", field="columns")
        for col, sketch in sketches.items():
            sketch.update(batch[col])
    return sketches
