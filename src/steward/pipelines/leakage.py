"""Leakage guards, run on every split; what they find becomes a finding.

- ``identical_rows``: rows (features and target) that appear in both train and test.
- ``group_overlap``: a group (``split.group_column``) on both sides.
- ``temporal_order``: training rows later than the earliest test row (``split.time_column``).
- ``target_leakage``: one feature alone predicts the target: fitted on train as a lookup of
  the target by the feature's value (numbers in up to 50 quantile bins), scored on test by
  ROC AUC (classification, one-vs-rest when multiclass) or R^2 (regression); above
  ``leakage.threshold`` (0.99) it is a finding.

A finding of a check listed in ``leakage.block`` is an error and stops training; the
others are warnings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import r2_score, roc_auc_score

from steward.pipelines.spec import LeakageSpec, SplitSpec
from steward.pipelines.splits import Fold

_BINS = 50


@dataclass(frozen=True)
class Finding:
    check: str
    fold: str
    severity: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        return self.severity == "error"


@dataclass(frozen=True)
class LeakageReport:
    checks: list[dict[str, Any]]
    findings: list[Finding]

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]

    def to_dict(self) -> dict[str, Any]:
        return {
            "checks": self.checks,
            "findings": [asdict(f) for f in self.findings],
            "blocking": len(self.blocking),
        }


def _row_hashes(df: pd.DataFrame) -> np.ndarray:
    return np.asarray(pd.util.hash_pandas_object(df, index=False).to_numpy())


def identical_rows(frame: pd.DataFrame, fold: Fold) -> tuple[int, float]:
    train = set(_row_hashes(frame.iloc[fold.train]).tolist())
    test = _row_hashes(frame.iloc[fold.test])
    shared = int(sum(1 for h in test.tolist() if h in train))
    return shared, shared / max(len(test), 1)


def _lookup_encode(x_train: pd.Series, x_test: pd.Series, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map each value (or quantile bin) to the mean of ``target`` rows (2-D: one column per
    target column) seen with it in train; unseen values get the overall mean."""
    if pd.api.types.is_numeric_dtype(x_train.dtype) and not pd.api.types.is_bool_dtype(x_train.dtype):
        values = x_train.to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        edges = np.unique(np.quantile(finite, np.linspace(0, 1, _BINS + 1))) if finite.size else np.array([])

        def key(s: pd.Series) -> pd.Series:
            v = s.to_numpy(dtype=float)
            k = np.searchsorted(edges, v, side="right").astype(float)
            k[~np.isfinite(v)] = -1.0
            return pd.Series(k)
    else:

        def key(s: pd.Series) -> pd.Series:
            return s.astype(object).where(s.notna(), "__missing__").astype(str).reset_index(drop=True)

    k_train, k_test = key(x_train), key(x_test)
    table = pd.DataFrame(target).groupby(k_train.to_numpy()).mean()
    prior = target.mean(axis=0)
    enc = table.reindex(k_test.to_numpy()).to_numpy()
    enc = np.where(np.isnan(enc), prior, enc)
    return enc, prior


def _linear_r2(x_train: pd.Series, y_train: np.ndarray, x_test: pd.Series, y_test: np.ndarray) -> float:
    """R^2 on test of a straight line fitted on train (bins blur a perfect linear relation)."""
    if not pd.api.types.is_numeric_dtype(x_train.dtype) or pd.api.types.is_bool_dtype(x_train.dtype):
        return -np.inf
    a, b = x_train.to_numpy(dtype=float), x_test.to_numpy(dtype=float)
    ok = np.isfinite(a)
    if ok.sum() < 2 or np.var(a[ok]) == 0 or not np.isfinite(b).all():
        return -np.inf
    slope, intercept = np.polyfit(a[ok], y_train[ok], 1)
    return float(r2_score(y_test, slope * b + intercept))


def feature_score(
    x_train: pd.Series, y_train: pd.Series, x_test: pd.Series, y_test: pd.Series, *, task: str
) -> float | None:
    """How well one feature alone predicts the target on test: AUC or R^2 (None if undefined)."""
    if task == "regression":
        target = y_train.to_numpy(dtype=float).reshape(-1, 1)
        enc, _ = _lookup_encode(x_train, x_test, target)
        yt = y_test.to_numpy(dtype=float)
        if len(yt) < 2 or np.var(yt) == 0:
            return None
        score = float(r2_score(yt, enc[:, 0]))
        return max(score, _linear_r2(x_train, target[:, 0], x_test, yt))
    classes = np.unique(np.concatenate([y_train.astype(str).to_numpy(), y_test.astype(str).to_numpy()]))
    if len(classes) < 2 or y_test.astype(str).nunique() < 2:
        return None
    onehot = (y_train.astype(str).to_numpy()[:, None] == classes[None, :]).astype(float)
    enc, _ = _lookup_encode(x_train, x_test, onehot)
    yt = y_test.astype(str).to_numpy()
    if len(classes) == 2:
        return float(roc_auc_score(yt == classes[1], enc[:, 1]))
    present = np.isin(classes, np.unique(yt))
    probs = enc[:, present]
    probs = probs / np.clip(probs.sum(axis=1, keepdims=True), 1e-12, None)
    return float(roc_auc_score(yt, probs, multi_class="ovr", labels=classes[present]))


def check_fold(
    df: pd.DataFrame,
    y: pd.Series,
    fold: Fold,
    *,
    features: Sequence[str],
    task: str,
    split: SplitSpec,
    spec: LeakageSpec,
) -> tuple[list[dict[str, Any]], list[Finding]]:
    checks: list[dict[str, Any]] = []
    findings: list[Finding] = []

    def report(check: str, failed: bool, message: str, **details: Any) -> None:
        checks.append({"check": check, "fold": fold.name, "passed": not failed, "message": message, **details})
        if failed:
            severity = "error" if check in spec.block else "warning"
            findings.append(Finding(check, fold.name, severity, message, details))

    frame = df[list(features)].assign(__target__=y.to_numpy())
    shared, frac = identical_rows(frame, fold)
    report(
        "identical_rows",
        frac > spec.max_identical_fraction,
        f"{shared} test row(s) ({frac:.2%}) also appear in train",
        count=shared,
        fraction=frac,
    )
    if split.group_column and split.group_column in df.columns:
        g = df[split.group_column]
        overlap = set(g.iloc[fold.train].tolist()) & set(g.iloc[fold.test].tolist())
        report(
            "group_overlap",
            bool(overlap),
            f"{len(overlap)} group(s) of {split.group_column!r} on both sides",
            count=len(overlap),
            examples=[str(v) for v in sorted(overlap, key=str)[:5]],
        )
    if split.time_column and split.time_column in df.columns:
        t = df[split.time_column]
        first_test = t.iloc[fold.test].min()
        later = int((t.iloc[fold.train] > first_test).sum())
        report(
            "temporal_order",
            later > 0,
            f"{later} training row(s) are later than the first test row ({first_test})",
            count=later,
        )
    scores: dict[str, float] = {}
    for name in features:
        s = feature_score(
            df[name].iloc[fold.train],
            y.iloc[fold.train],
            df[name].iloc[fold.test],
            y.iloc[fold.test],
            task=task,
        )
        if s is not None:
            scores[name] = round(s, 6)
    leaky = {k: v for k, v in scores.items() if v > spec.threshold}
    metric = "AUC" if task == "classification" else "R^2"
    report(
        "target_leakage",
        bool(leaky),
        (
            f"feature(s) {sorted(leaky)} alone predict the target ({metric} > {spec.threshold})"
            if leaky
            else f"no single feature predicts the target with {metric} > {spec.threshold}"
        ),
        scores=scores,
        leaky=leaky,
    )
    return checks, findings


def check_leakage(
    df: pd.DataFrame,
    y: pd.Series,
    folds: Sequence[Fold],
    *,
    features: Sequence[str],
    task: str,
    split: SplitSpec,
    spec: LeakageSpec,
) -> LeakageReport:
    """Run every guard on every fold."""
    checks: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for fold in folds:
        c, f = check_fold(df, y, fold, features=features, task=task, split=split, spec=spec)
        checks += c
        findings += f
    return LeakageReport(checks, findings)
