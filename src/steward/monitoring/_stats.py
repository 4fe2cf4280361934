"""Pure statistics shared by the drift detectors (each one checked against scipy in the tests)."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import numpy.typing as npt
from scipy import special

FloatArray = npt.NDArray[np.float64]


def wasserstein_sorted(u: FloatArray, v: FloatArray) -> float:
    """First Wasserstein distance of two samples given sorted ascending.

    The same sum as ``scipy.stats.wasserstein_distance`` (integral of ``|F_u - F_v|`` over the
    merged support), with the CDFs read off one stable merge instead of two binary searches.
    At tied values the gap to the next value is zero, so counting ties one at a time gives the
    same terms as scipy's ``searchsorted(side="right")``.
    """
    merged = np.concatenate([u, v])
    order = np.argsort(merged, kind="stable")
    values = merged[order]
    from_u = order < u.size
    cdf_u = np.cumsum(from_u)[:-1] / u.size
    cdf_v = np.cumsum(~from_u)[:-1] / v.size
    return float(np.sum(np.abs(cdf_u - cdf_v) * np.diff(values)))


def sturges_edges(low: float, high: float, n: int) -> FloatArray:
    """``np.histogram_bin_edges(a, bins="sturges")`` from ``a.min()``, ``a.max()``, ``a.size``."""
    first, last = low, high
    if first == last:
        first, last = first - 0.5, last + 0.5
    width = (high - low) / (math.log2(n) + 1.0)
    n_bins = math.ceil((last - first) / width) if width else 1
    return np.linspace(first, last, n_bins + 1, endpoint=True)


def jensenshannon(p: FloatArray, q: FloatArray) -> float:
    """``scipy.spatial.distance.jensenshannon(p, q)`` (natural log) without its warnings."""
    p = p / p.sum()
    q = q / q.sum()
    m = (p + q) / 2.0
    js = float(np.sum(special.rel_entr(p, m)) + np.sum(special.rel_entr(q, m)))
    return math.sqrt(max(js, 0.0) / 2.0)


def jensenshannon_many(p: FloatArray, q: FloatArray) -> FloatArray:
    """Row-wise Jensen-Shannon distances of two count matrices (for calibration)."""
    p = p / p.sum(axis=1, keepdims=True)
    q = q / q.sum(axis=1, keepdims=True)
    m = (p + q) / 2.0
    js = special.rel_entr(p, m).sum(axis=1) + special.rel_entr(q, m).sum(axis=1)
    return np.asarray(np.sqrt(np.maximum(js, 0.0) / 2.0), dtype=np.float64)


def fill_zeroes(percents: FloatArray) -> FloatArray:
    """Evidently's zero replacement before PSI: 0.0001, or (smallest share) / 1e6 if that is
    already <= 0.0001."""
    out = percents.copy()
    nonzero = out[out != 0]
    if nonzero.size:
        smallest = float(nonzero.min())
        out[out == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return out


def psi(reference_percents: FloatArray, current_percents: FloatArray) -> float:
    """Population stability index ``sum((r - c) * ln(r / c))`` after Evidently's zero fill."""
    r = fill_zeroes(reference_percents)
    c = fill_zeroes(current_percents)
    return float(np.sum((r - c) * np.log(r / c)))


def psi_many(reference_counts: FloatArray, current_counts: FloatArray) -> FloatArray:
    """Row-wise PSI of two count matrices (for calibration; zero fill as :func:`psi`)."""
    r = reference_counts / reference_counts.sum(axis=1, keepdims=True)
    c = current_counts / current_counts.sum(axis=1, keepdims=True)
    return np.array([psi(a, b) for a, b in zip(r, c, strict=True)])


def aligned_counts(
    reference: Mapping[Hashable, int], current: Mapping[Hashable, int]
) -> tuple[list[Hashable], FloatArray, FloatArray]:
    """Counts of both sides over the union of their categories (reference order first)."""
    keys = list(reference)
    keys += [k for k in current if k not in reference]
    ref = np.array([reference.get(k, 0) for k in keys], dtype=np.float64)
    cur = np.array([current.get(k, 0) for k in keys], dtype=np.float64)
    return keys, ref, cur


def pool_small_cells(observed: FloatArray, expected: FloatArray, min_expected: float) -> tuple[FloatArray, FloatArray]:
    """Pool every cell whose expected count is below ``min_expected`` into one cell (Cochran's
    rule for the chi-square approximation); if that pooled cell is still too small, fold it
    into the smallest remaining cell."""
    if min_expected <= 0:
        return observed, expected
    small = expected < min_expected
    if not small.any():
        return observed, expected
    obs, exp = observed[~small], expected[~small]
    pooled_obs, pooled_exp = observed[small].sum(), expected[small].sum()
    if pooled_exp >= min_expected or obs.size == 0:
        return np.append(obs, pooled_obs), np.append(exp, pooled_exp)
    i = int(np.argmin(exp))
    obs, exp = obs.copy(), exp.copy()
    obs[i] += pooled_obs
    exp[i] += pooled_exp
    return obs, exp


def two_proportion_z_test(x1: float, n1: float, x2: float, n2: float) -> tuple[float, float]:
    """Pooled two-sided z-test for ``x1/n1 == x2/n2``; returns ``(z, p_value)``.

    ``z = (p1 - p2) / sqrt(P (1 - P) (1/n1 + 1/n2))`` with ``P = (x1 + x2) / (n1 + n2)``; the
    p-value is ``2 * (1 - Phi(|z|))``, computed as ``erfc(|z| / sqrt 2)`` for accuracy in the
    tail. When ``P`` is 0 or 1 both proportions are equal: ``z = 0``, ``p = 1``.

    Example:
        >>> z, p = two_proportion_z_test(45, 100, 30, 100)
        >>> round(z, 4), round(p, 4)
        (2.1909, 0.0285)
    """
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    var = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    if var <= 0.0:
        return 0.0, 1.0
    z = (p1 - p2) / math.sqrt(var)
    return z, math.erfc(abs(z) / math.sqrt(2.0))


def cohens_h(p1: float, p2: float) -> float:
    """Cohen's h effect size of two proportions: ``2 asin(sqrt p1) - 2 asin(sqrt p2)``."""
    return 2.0 * math.asin(math.sqrt(p1)) - 2.0 * math.asin(math.sqrt(p2))


def benjamini_hochberg(p_values: Sequence[float] | FloatArray) -> FloatArray:
    """Benjamini-Hochberg adjusted p-values (``scipy.stats.false_discovery_control``, 'bh')."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    adjusted_sorted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.clip(adjusted_sorted, 0.0, 1.0)
    return out
