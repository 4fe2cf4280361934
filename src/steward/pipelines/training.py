"""The pure half of a training run: from a spec and a frame to fitted models and their
predictions. No tracking, no database: ``runner`` logs what this returns, and ``reproduce``
calls it again to rebuild a run.

Determinism: the frame is put in canonical row order first (so a dataset version trains the
same model whatever its file's row order), every random step takes the spec's seed, and the
search runs its trials one after another.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from steward.core.errors import InvalidArgument, UserCodeError
from steward.datasets.fingerprint import canonical_row_order
from steward.datasets.validation import RequiredRule, TypeRule, ValidationReport, default_rules, validate
from steward.pipelines.leakage import LeakageReport, check_leakage
from steward.pipelines.model_format import Signature, infer_signature
from steward.pipelines.preprocessing import (
    build_model,
    build_preprocessor,
    default_baseline,
    infer_feature_types,
    make_estimator,
)
from steward.pipelines.search import OnTrial, SearchResult, pipeline_params, run_search
from steward.pipelines.spec import FeatureType, PipelineSpec
from steward.pipelines.splits import Fold, make_folds
from steward.pipelines.transformers import EncodedLabels, needs_encoded_labels

Progress = Callable[[str], None]


def native_threads(n: int) -> AbstractContextManager[Any]:
    """Limit native thread pools (OpenMP, BLAS) to ``n`` threads inside a ``with`` block."""
    return cast(AbstractContextManager[Any], importlib.import_module("threadpoolctl").threadpool_limits(limits=n))


@dataclass
class Prepared:
    """The frame in canonical order, its features, target and folds."""

    frame: pd.DataFrame
    features: dict[str, FeatureType]
    X: pd.DataFrame
    y: pd.Series
    folds: list[Fold]
    classes: list[Any] | None
    positive_class: Any
    validation: ValidationReport
    leakage: LeakageReport | None = None


@dataclass
class Fitted:
    """Final model and baseline, with predictions on the evaluation rows (the test rows of a
    hold-out split, or every row out-of-fold for k-fold)."""

    prepared: Prepared
    model: Pipeline
    baseline: Pipeline
    eval_index: np.ndarray
    predictions: np.ndarray
    probabilities: np.ndarray | None
    baseline_predictions: np.ndarray
    baseline_probabilities: np.ndarray | None
    signature: Signature
    search: SearchResult | None = None
    fold_sizes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def scores(self) -> np.ndarray:
        """What the model outputs for the evaluation rows: class probabilities (one column
        per class) or regression predictions."""
        return self.probabilities if self.probabilities is not None else self.predictions


def sample_rows(df: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    """A seeded sample of ``n`` rows taken from the canonical order (independent of the
    file's row order); all rows when ``n`` is None or not smaller than the frame."""
    ordered = canonical_row_order(df)
    if n is None or n >= len(ordered):
        return ordered
    return ordered.sample(n=n, random_state=seed).reset_index(drop=True)


def _features(spec: PipelineSpec, df: pd.DataFrame) -> dict[str, FeatureType]:
    d = spec.data
    if d.features is not None:
        absent = [c for c in d.features if c not in df.columns]
        if absent:
            raise InvalidArgument(f"Feature column(s) {absent} are not in the data.", field="data.features")
        if d.target in d.features:
            raise InvalidArgument(f"The target {d.target!r} is also listed as a feature.", field="data.features")
        return dict(d.features)
    skip = {d.target, *d.drop}
    if spec.split.time_column:
        skip.add(spec.split.time_column)
    if spec.split.group_column:
        skip.add(spec.split.group_column)
    columns = [str(c) for c in df.columns if c not in skip]
    if not columns:
        raise InvalidArgument("No feature columns are left after the target and data.drop.", field="data.features")
    return infer_feature_types(df, columns)


def _check_target(spec: PipelineSpec, y: pd.Series) -> tuple[list[Any] | None, Any]:
    target = spec.data.target
    if spec.task == "regression":
        if not pd.api.types.is_numeric_dtype(y.dtype) or pd.api.types.is_bool_dtype(y.dtype):
            raise InvalidArgument(f"A regression target must be numeric; {target!r} is {y.dtype}.", field="data.target")
        if y.nunique() < 2:
            raise InvalidArgument(f"The target {target!r} is constant; nothing to learn.", field="data.target")
        return None, None
    classes = sorted(y.unique().tolist(), key=lambda v: (str(type(v)), v))
    if len(classes) < 2:
        raise InvalidArgument(
            f"The target {target!r} has a single class ({classes[0]!r}); a classifier needs at least two.",
            field="data.target",
        )
    positive = spec.data.positive_class
    if positive is not None and positive not in classes:
        raise InvalidArgument(
            f"data.positive_class {positive!r} is not a class of {target!r}; classes are {classes[:20]}.",
            field="data.positive_class",
        )
    if positive is None and len(classes) == 2:
        positive = classes[1]
    return classes, positive


_LOGICAL = {"numeric": ["long", "double"], "boolean": ["boolean"]}


def _declared_types(spec: PipelineSpec) -> list[TypeRule]:
    """A type rule per feature whose type the spec declares (categories take any type)."""
    declared = spec.data.features or {}
    return [TypeRule(column=c, types=_LOGICAL[t]) for c, t in declared.items() if t in _LOGICAL]  # type: ignore[arg-type]


def prepare(spec: PipelineSpec, data: pd.DataFrame) -> Prepared:
    """Validate, order, split and guard the data. Blocking problems raise InvalidArgument,
    except that failed validation and leakage are returned for the caller to log first."""
    target = spec.data.target
    if target not in data.columns:
        raise InvalidArgument(
            f"The target column {target!r} is not in the data; columns are {[str(c) for c in data.columns][:30]}.",
            field="data.target",
        )
    features = _features(spec, data)
    rules = [*default_rules(data, target, list(features)), *_declared_types(spec), *spec.validation]
    named = [spec.split.group_column, spec.split.time_column, *spec.evaluation.sensitive, *spec.evaluation.slices]
    if any(named):
        rules.append(RequiredRule(columns=list(dict.fromkeys(c for c in named if c))))
    report = validate(data, rules)
    frame = canonical_row_order(data)
    prepared = Prepared(frame, features, frame[list(features)], frame[target], [], None, None, report)
    if not report.passed:
        return prepared
    prepared.classes, prepared.positive_class = _check_target(spec, prepared.y)
    prepared.folds = make_folds(frame, prepared.y, spec.split, task=spec.task, seed=spec.seed)
    prepared.leakage = check_leakage(
        frame,
        prepared.y,
        prepared.folds,
        features=list(features),
        task=spec.task,
        split=spec.split,
        spec=spec.leakage,
    )
    return prepared


def _fit(model: Pipeline, X: pd.DataFrame, y: pd.Series, step: str) -> Pipeline:  # noqa: N803
    try:
        return model.fit(X, y)
    except (InvalidArgument, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise UserCodeError(step, exc) from exc


def _predict(model: Pipeline, X: pd.DataFrame, task: str) -> tuple[np.ndarray, np.ndarray | None]:  # noqa: N803
    pred = np.asarray(model.predict(X))
    if task == "classification" and hasattr(model, "predict_proba"):
        return pred, np.asarray(model.predict_proba(X), dtype=float)
    return pred, None


def _templates(spec: PipelineSpec, prepared: Prepared) -> tuple[Pipeline, Pipeline]:
    pre = build_preprocessor(prepared.features, spec.preprocessing, task=spec.task, seed=spec.seed)
    estimator = make_estimator(spec.model, seed=spec.seed)
    if spec.task == "classification" and needs_encoded_labels(estimator):
        estimator = EncodedLabels(estimator)
    model = build_model(pre, estimator)
    base_est = (
        make_estimator(spec.baseline, seed=spec.seed, field="baseline")
        if spec.baseline
        else default_baseline(spec.task)
    )
    return model, build_model(clone(pre), base_est)


def _nullable(spec: PipelineSpec, prepared: Prepared) -> dict[str, bool]:
    """An input may be missing when preprocessing handles it: numbers when imputed,
    booleans always (imputed), categories always (missing is a category of its own)."""
    out = {}
    for name, kind in prepared.features.items():
        handled = kind != "numeric" or spec.preprocessing.numeric.impute != "none"
        out[name] = handled or bool(prepared.X[name].isna().any())
    return out


def fit(
    spec: PipelineSpec,
    prepared: Prepared,
    *,
    on_trial: OnTrial | None = None,
    progress: Progress | None = None,
    metadata: dict[str, Any] | None = None,
) -> Fitted:
    """Search (when the spec asks), fit the model and the baseline, predict the evaluation rows.

    Native thread pools (OpenMP, BLAS) are limited to ``spec.reproduce.threads`` (default 1):
    multi-threaded float reductions may sum in a different order from run to run. The global
    ``random`` and NumPy generators are seeded too, for estimators that draw from them."""
    random.seed(spec.seed)
    np.random.seed(spec.seed % 2**32)
    with native_threads(spec.reproduce.threads):
        return _fit_all(spec, prepared, on_trial=on_trial, progress=progress, metadata=metadata)


def _fit_all(
    spec: PipelineSpec,
    prepared: Prepared,
    *,
    on_trial: OnTrial | None,
    progress: Progress | None,
    metadata: dict[str, Any] | None,
) -> Fitted:
    step = progress or (lambda _name: None)
    model_t, base_t = _templates(spec, prepared)
    X, y, folds = prepared.X, prepared.y, prepared.folds  # noqa: N806
    holdout = spec.split.strategy != "kfold"
    search_rows = folds[0].train if holdout else np.arange(len(X))
    result: SearchResult | None = None
    if spec.search is not None:
        step("search")
        groups = prepared.frame[spec.split.group_column].to_numpy()[search_rows] if spec.split.group_column else None
        result = run_search(
            model_t,
            X.iloc[search_rows],
            y.iloc[search_rows],
            spec=spec.search,
            split=spec.split,
            task=spec.task,
            seed=spec.seed,
            groups=groups,
            on_trial=on_trial,
        )
        model_t.set_params(**pipeline_params(result.best_params))
    step("fit")
    n = len(X)
    pred = np.empty(n, dtype=object if spec.task == "classification" else float)
    base_pred = pred.copy()
    k = len(prepared.classes or [])
    proba = np.full((n, k), np.nan) if spec.task == "classification" else None
    base_proba = proba.copy() if proba is not None else None
    evaluated = np.zeros(n, dtype=bool)
    sizes = []
    final_model = final_base = None
    for fold in folds:
        m = _fit(clone(model_t), X.iloc[fold.train], y.iloc[fold.train], f"fit model ({fold.name})")
        b = _fit(clone(base_t), X.iloc[fold.train], y.iloc[fold.train], f"fit baseline ({fold.name})")
        for est, out_pred, out_proba in ((m, pred, proba), (b, base_pred, base_proba)):
            p, pp = _predict(est, X.iloc[fold.test], spec.task)
            out_pred[fold.test] = p
            if out_proba is not None and pp is not None:
                cols = np.asarray([(prepared.classes or []).index(c) for c in est.classes_], dtype=int)
                out_proba[np.ix_(fold.test, cols)] = pp
                out_proba[fold.test] = np.nan_to_num(out_proba[fold.test], nan=0.0)
        evaluated[fold.test] = True
        sizes.append({"fold": fold.name, "train": len(fold.train), "test": len(fold.test)})
        if holdout:
            final_model, final_base = m, b
    if final_model is None or final_base is None:
        step("refit")
        final_model = _fit(clone(model_t), X, y, "refit model on all rows")
        final_base = _fit(clone(base_t), X, y, "refit baseline on all rows")
    if spec.task == "classification" and not hasattr(final_model, "predict_proba"):
        proba = None
    eval_index = np.flatnonzero(evaluated)
    signature = infer_signature(
        X,
        prepared.features,
        task=spec.task,
        classes=prepared.classes,
        nullable=_nullable(spec, prepared),
        metadata=metadata,
    )
    return Fitted(
        prepared,
        final_model,
        final_base,
        eval_index,
        pred[eval_index],
        proba[eval_index] if proba is not None else None,
        base_pred[eval_index],
        base_proba[eval_index] if base_proba is not None else None,
        signature,
        result,
        sizes,
    )


def predictions_digest(values: np.ndarray) -> str:
    """sha256 of predictions in a fixed byte form (float64 little-endian, or UTF-8 labels)."""
    import hashlib

    arr = np.asarray(values)
    if arr.dtype.kind in "fiub":
        data = np.ascontiguousarray(arr, dtype="<f8").tobytes()
    else:
        data = "\x00".join(str(v) for v in arr.ravel().tolist()).encode()
    return hashlib.sha256(data).hexdigest()
