"""Multivariate drift: changes in the joint distribution that no single column shows.

* :class:`DomainClassifierDrift` trains a classifier to tell current rows from reference rows;
  its cross-validated ROC AUC is 0.5 when they cannot be told apart. Drift when the AUC
  exceeds ``threshold`` (0.65, NannyML's upper constant threshold).
* :class:`ReconstructionDrift` is NannyML's data reconstruction drift: PCA fitted on the
  standardised reference keeps ``n_components`` (0.65 of the variance); a window's statistic is
  the mean Euclidean distance between its rows and their reconstructions. The thresholds are the
  mean +- ``threshold_std`` (3) standard deviations of that statistic over reference windows of
  the current window's size (bootstrap draws of reference rows).

Both encode categorical columns from the reference: ordinal codes for the classifier, category
frequencies in the reference for PCA (unseen categories get 0); missing numbers are imputed
with the reference mean for PCA and left to the classifier, which handles them.

Example:
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2000, 2))
    >>> ref = pd.DataFrame({"a": x[:, 0], "b": x[:, 0] + 0.3 * x[:, 1]})
    >>> y = rng.normal(size=(2000, 2))
    >>> cur = pd.DataFrame({"a": y[:, 0], "b": -y[:, 0] + 0.3 * y[:, 1]})  # same marginals
    >>> ReconstructionDrift().fit(ref).score(cur).drifted
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import ClassifierMixin, clone
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from steward.core.errors import InvalidArgument, UserCodeError
from steward.monitoring._validation import check_float, check_int
from steward.monitoring.sketches import infer_kind

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MultivariateDriftResult:
    """The window's statistic, the band it should stay in, and the verdict."""

    method: str
    statistic: float
    lower_threshold: float | None
    upper_threshold: float
    drifted: bool
    n_reference: int
    n_current: int


class _Encoder:
    """Column kinds and reference categories, fitted on the reference."""

    def __init__(self, frame: pd.DataFrame, columns: Sequence[str] | None) -> None:
        self.columns = list(columns) if columns is not None else [str(c) for c in frame.columns]
        missing = [c for c in self.columns if c not in frame.columns]
        if missing or not self.columns:
            raise InvalidArgument(f"The reference lacks the columns {missing or 'to test'}.", field="columns")
        self.categorical = [c for c in self.columns if infer_kind(frame[c]) == "categorical"]
        self.levels = {c: pd.Index(frame[c].dropna().unique()) for c in self.categorical}
        self.shares = {c: frame[c].value_counts(normalize=True) for c in self.categorical}
        numeric = [c for c in self.columns if c not in self.categorical]
        self.means = {c: float(frame[c].astype(np.float64).mean()) for c in numeric}

    def codes(self, frame: pd.DataFrame) -> FloatArray:
        """Numbers as they are (NaN kept); categories as reference codes (unseen -> NaN)."""
        out = np.empty((len(frame), len(self.columns)))
        for j, c in enumerate(self.columns):
            if c in self.levels:
                code = self.levels[c].get_indexer(frame[c]).astype(np.float64)
                code[code < 0] = np.nan
                out[:, j] = code
            else:
                out[:, j] = frame[c].to_numpy(dtype=np.float64, na_value=np.nan)
        return out

    def frequencies(self, frame: pd.DataFrame) -> FloatArray:
        """Numbers imputed with the reference mean; categories as their reference share."""
        out = np.empty((len(frame), len(self.columns)))
        for j, c in enumerate(self.columns):
            if c in self.shares:
                out[:, j] = frame[c].map(self.shares[c]).astype(np.float64).fillna(0.0).to_numpy()
            else:
                col = frame[c].to_numpy(dtype=np.float64, na_value=np.nan)
                out[:, j] = np.where(np.isfinite(col), col, self.means[c])
        return out


class DomainClassifierDrift:
    """Drift when a classifier tells current rows from reference rows (cross-validated AUC).

    Parameters:
        columns: columns to use (default: all of the reference).
        threshold: AUC above which the window drifts.
        n_splits: cross-validation folds.
        max_rows: rows sampled from each side (bounds the training cost).
        estimator: a scikit-learn classifier; default a histogram gradient boosting model.
        random_state: seed of sampling, folds and the default estimator.
        n_threads: OpenMP threads of the training (None: all cores). One by default: in a
            server sharing its cores, OpenMP's spinning threads slow a fit down many times over.
    """

    def __init__(
        self,
        *,
        columns: Sequence[str] | None = None,
        threshold: float = 0.65,
        n_splits: int = 5,
        max_rows: int = 10_000,
        estimator: ClassifierMixin | None = None,
        random_state: int | None = 0,
        n_threads: int | None = 1,
    ) -> None:
        self.columns = columns
        self.threshold = threshold
        self.n_splits = n_splits
        self.max_rows = max_rows
        self.estimator = estimator
        self.random_state = random_state
        self.n_threads = n_threads

    def get_params(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "threshold": self.threshold,
            "n_splits": self.n_splits,
            "max_rows": self.max_rows,
            "estimator": self.estimator,
            "random_state": self.random_state,
            "n_threads": self.n_threads,
        }

    def fit(self, reference: pd.DataFrame) -> Self:
        check_float(self.threshold, name="threshold", owner="DomainClassifierDrift", low=0.5, high=1.0, low_open=False)
        check_int(self.n_splits, name="n_splits", owner="DomainClassifierDrift", low=2)
        check_int(self.max_rows, name="max_rows", owner="DomainClassifierDrift", low=10)
        if self.n_threads is not None:
            check_int(self.n_threads, name="n_threads", owner="DomainClassifierDrift", low=1)
        self.encoder_ = _Encoder(reference, self.columns)
        self.n_reference_ = len(reference)
        self.reference_ = self.encoder_.codes(self._sample(reference, 0))
        return self

    def score(self, current: pd.DataFrame) -> MultivariateDriftResult:
        if not hasattr(self, "encoder_"):
            raise InvalidArgument("This DomainClassifierDrift is not fitted yet: call fit first.", field="reference")
        cur = self.encoder_.codes(self._sample(current, 1))
        x = np.vstack([self.reference_, cur])
        y = np.r_[np.zeros(len(self.reference_)), np.ones(len(cur))]
        folds = StratifiedKFold(n_splits=self.n_splits, shuffle=True, random_state=self.random_state)
        try:
            with threadpool_limits(self.n_threads):
                proba = cross_val_predict(self._estimator(), x, y, cv=folds, method="predict_proba")[:, 1]
        except Exception as exc:
            raise UserCodeError(step="domain_classifier", cause=exc) from exc
        auc = float(roc_auc_score(y, proba))
        return MultivariateDriftResult(
            method="domain_classifier",
            statistic=auc,
            lower_threshold=None,
            upper_threshold=float(self.threshold),
            drifted=auc > self.threshold,
            n_reference=self.n_reference_,
            n_current=len(current),
        )

    def _estimator(self) -> Any:
        if self.estimator is not None:
            return clone(self.estimator)
        cat = [c in self.encoder_.levels and len(self.encoder_.levels[c]) < 250 for c in self.encoder_.columns]
        return HistGradientBoostingClassifier(
            max_iter=100, categorical_features=np.array(cat, dtype=bool), random_state=self.random_state
        )

    def _sample(self, frame: pd.DataFrame, key: int) -> pd.DataFrame:
        if len(frame) <= self.max_rows:
            return frame
        rng = np.random.default_rng(np.random.SeedSequence(self.random_state, spawn_key=(key,)))
        return frame.iloc[np.sort(rng.choice(len(frame), self.max_rows, replace=False))]


class ReconstructionDrift:
    """NannyML's data reconstruction drift (PCA reconstruction error against the reference).

    Parameters:
        columns: columns to use (default: all of the reference).
        n_components: passed to PCA; a float in (0, 1) keeps that share of the variance.
        threshold_std: width of the band in standard deviations of the reference windows.
        n_windows: bootstrap reference windows drawn for the band.
        n_folds: the reference rows' errors are computed out of fold (PCA fitted on the others).
        random_state: seed of the bootstrap.
    """

    def __init__(
        self,
        *,
        columns: Sequence[str] | None = None,
        n_components: float | int = 0.65,
        threshold_std: float = 3.0,
        n_windows: int = 200,
        n_folds: int = 5,
        random_state: int | None = 0,
    ) -> None:
        self.columns = columns
        self.n_components = n_components
        self.threshold_std = threshold_std
        self.n_windows = n_windows
        self.n_folds = n_folds
        self.random_state = random_state

    def get_params(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "n_components": self.n_components,
            "threshold_std": self.threshold_std,
            "n_windows": self.n_windows,
            "n_folds": self.n_folds,
            "random_state": self.random_state,
        }

    def fit(self, reference: pd.DataFrame) -> Self:
        check_float(self.threshold_std, name="threshold_std", owner="ReconstructionDrift", low=0.0, high=np.inf)
        check_int(self.n_windows, name="n_windows", owner="ReconstructionDrift", low=20)
        check_int(self.n_folds, name="n_folds", owner="ReconstructionDrift", low=2)
        self.encoder_, self.mean_, self.scale_, self.pca_ = self._fit_pca(reference)
        k = len(self.encoder_.columns)
        if self.pca_.n_components_ >= k:
            # Every component kept: each row is rebuilt exactly and the "error" is rounding noise.
            raise InvalidArgument(
                f"ReconstructionDrift keeps all {k} principal components of its {k} columns, so nothing is left "
                "to reconstruct: give it more (correlated) columns or a smaller n_components.",
                field="n_components",
            )
        # Out-of-fold errors: a PCA scores the rows it was fitted on better than new rows, and
        # a band built on in-sample errors would alarm on undrifted windows.
        folds = np.arange(len(reference)) % self.n_folds
        np.random.default_rng(self.random_state).shuffle(folds)
        errors = np.empty(len(reference))
        for k in range(self.n_folds):
            model = self._fit_pca(reference.iloc[folds != k])
            errors[folds == k] = self._errors(model, reference.iloc[folds == k])
        self.reference_errors_ = errors
        return self

    def _fit_pca(self, frame: pd.DataFrame) -> tuple[_Encoder, FloatArray, FloatArray, PCA]:
        encoder = _Encoder(frame, self.columns)
        x = encoder.frequencies(frame)
        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        pca = PCA(n_components=self.n_components, svd_solver="full").fit((x - mean) / scale)
        return encoder, mean, scale, pca

    @staticmethod
    def _errors(model: tuple[_Encoder, FloatArray, FloatArray, PCA], frame: pd.DataFrame) -> FloatArray:
        encoder, mean, scale, pca = model
        z = (encoder.frequencies(frame) - mean) / scale
        back = pca.inverse_transform(pca.transform(z))
        return np.asarray(np.linalg.norm(z - back, axis=1), dtype=np.float64)

    def errors(self, frame: pd.DataFrame) -> FloatArray:
        """Per-row reconstruction error (Euclidean, in standardised units)."""
        return self._errors((self.encoder_, self.mean_, self.scale_, self.pca_), frame)

    def score(self, current: pd.DataFrame) -> MultivariateDriftResult:
        if not hasattr(self, "pca_"):
            raise InvalidArgument("This ReconstructionDrift is not fitted yet: call fit first.", field="reference")
        if len(current) == 0:
            raise InvalidArgument("The current window of ReconstructionDrift has no rows.", field="current")
        value = float(self.errors(current).mean())
        centre, spread = self._band(len(current))
        lower, upper = centre - self.threshold_std * spread, centre + self.threshold_std * spread
        return MultivariateDriftResult(
            method="reconstruction_error",
            statistic=value,
            lower_threshold=lower,
            upper_threshold=upper,
            drifted=not lower <= value <= upper,
            n_reference=len(self.reference_errors_),
            n_current=len(current),
        )

    def _band(self, n: int) -> tuple[float, float]:
        """Mean and spread of the statistic over reference windows of ``n`` rows: bootstrap
        draws while affordable, else the row spread over sqrt(n) (central limit theorem)."""
        ref = self.reference_errors_
        if n * self.n_windows > 20_000_000:
            return float(ref.mean()), float(ref.std() / np.sqrt(n))
        rng = np.random.default_rng(self.random_state)
        windows = ref[rng.integers(0, ref.size, size=(self.n_windows, n))].mean(axis=1)
        return float(windows.mean()), float(windows.std())


MIN_ROWS = 50


@dataclass(frozen=True)
class MultivariateReport:
    """Both multivariate detectors on one pair of row samples, as a report section.

    ``reference_error`` is the reference rows' mean (out-of-fold) reconstruction error, so the
    section can say how much the window's error changed, not only whether it left the band.
    """

    domain_classifier: MultivariateDriftResult | None
    reconstruction: MultivariateDriftResult | None
    reference_error: float | None
    notes: tuple[str, ...] = ()

    @property
    def drifted(self) -> bool:
        return any(r is not None and r.drifted for r in (self.domain_classifier, self.reconstruction))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the AUC and its threshold, the error change and its band, each verdict."""
        doc: dict[str, Any] = {"drift_detected": self.drifted, "domain_classifier": None, "reconstruction_error": None}
        dc = self.domain_classifier
        if dc is not None:
            doc["domain_classifier"] = {
                "auc": dc.statistic,
                "threshold": dc.upper_threshold,
                "drifted": dc.drifted,
                "n_reference": dc.n_reference,
                "n_current": dc.n_current,
            }
        rc, ref = self.reconstruction, self.reference_error
        if rc is not None and ref is not None:
            doc["reconstruction_error"] = {
                "reference": ref,
                "current": rc.statistic,
                "change": rc.statistic - ref,
                "relative_change": (rc.statistic - ref) / ref if ref > 0 else None,
                "lower_threshold": rc.lower_threshold,
                "upper_threshold": rc.upper_threshold,
                "drifted": rc.drifted,
                "n_reference": rc.n_reference,
                "n_current": rc.n_current,
            }
        doc["notes"] = list(self.notes)
        return doc


def multivariate_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    n_windows: int = 100,
    random_state: int | None = 0,
) -> MultivariateReport:
    """Run the domain classifier and the PCA reconstruction error on row samples of both sides.

    A detector that cannot run on these rows (too few, no usable column) is left out with a
    note, so the univariate report still stands.
    """
    names = [c for c in (columns or [str(c) for c in reference.columns]) if c in current.columns]
    notes: list[str] = []
    if len(reference) < MIN_ROWS or len(current) < MIN_ROWS or not names:
        notes.append(f"multivariate drift needs {MIN_ROWS} rows on each side and a shared column")
        return MultivariateReport(None, None, None, tuple(notes))
    dc: MultivariateDriftResult | None = None
    rc: MultivariateDriftResult | None = None
    ref_error: float | None = None
    try:
        dc = DomainClassifierDrift(columns=names, random_state=random_state).fit(reference).score(current[names])
    except (InvalidArgument, UserCodeError, ValueError) as exc:
        notes.append(f"domain classifier skipped: {exc}")
    try:
        pca = ReconstructionDrift(columns=names, n_windows=n_windows, random_state=random_state).fit(reference)
        rc, ref_error = pca.score(current[names]), float(pca.reference_errors_.mean())
    except (InvalidArgument, ValueError) as exc:
        notes.append(f"reconstruction error skipped: {exc}")
    return MultivariateReport(dc, rc, ref_error, tuple(notes))
