"""Train / test splits: random, stratified, group, temporal, and k-fold cross-validation.

Every strategy returns a list of folds (one for the hold-out strategies, ``folds`` for
``kfold``) of positional row indices into the frame it was given. All randomness comes from
``seed``; the frame is expected in canonical row order, so a split depends only on the data
and the seed, never on how the file was laid out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    GroupKFold,
    GroupShuffleSplit,
    KFold,
    StratifiedKFold,
    TimeSeriesSplit,
    train_test_split,
)

from steward.core.errors import InvalidArgument
from steward.pipelines.spec import SplitSpec


@dataclass(frozen=True)
class Fold:
    name: str
    train: np.ndarray
    test: np.ndarray


def _check_column(df: pd.DataFrame, column: str, key: str) -> pd.Series:
    if column not in df.columns:
        raise InvalidArgument(f"The split column {column!r} is not in the data.", field=f"split.{key}")
    s = df[column]
    if s.isna().any():
        raise InvalidArgument(
            f"The split column {column!r} has {int(s.isna().sum())} missing value(s); fill or drop them.",
            field=f"split.{key}",
        )
    return s


def _stratify_ok(y: pd.Series, test_size: float) -> None:
    counts = y.value_counts()
    if counts.min() < 2:
        raise InvalidArgument(
            f"A stratified split needs at least 2 rows per class; class {counts.idxmin()!r} has {int(counts.min())}.",
            field="split.strategy",
        )


def make_folds(df: pd.DataFrame, y: pd.Series, spec: SplitSpec, *, task: str, seed: int) -> list[Fold]:
    """Split ``df`` (with target ``y``) as ``spec`` says."""
    n = len(df)
    if n < 4:
        raise InvalidArgument(f"At least 4 rows are needed to split. Got {n}.", field="data")
    idx = np.arange(n)
    if spec.strategy == "random":
        train, test = train_test_split(idx, test_size=spec.test_size, random_state=seed, shuffle=True)
    elif spec.strategy == "stratified":
        _stratify_ok(y, spec.test_size)
        train, test = train_test_split(
            idx, test_size=spec.test_size, random_state=seed, shuffle=True, stratify=y.to_numpy()
        )
    elif spec.strategy == "group":
        groups = _check_column(df, spec.group_column or "", "group_column")
        if groups.nunique() < 2:
            raise InvalidArgument("A group split needs at least 2 groups.", field="split.group_column")
        splitter = GroupShuffleSplit(n_splits=1, test_size=spec.test_size, random_state=seed)
        train, test = next(splitter.split(idx, groups=groups.to_numpy()))
    elif spec.strategy == "temporal":
        time = _check_column(df, spec.time_column or "", "time_column")
        order = np.argsort(time.to_numpy(), kind="stable")
        cut_value = time.to_numpy()[order[int(np.floor(n * (1.0 - spec.test_size)))]]
        is_test = (time >= cut_value).to_numpy()
        train, test = idx[~is_test], idx[is_test]
        if len(train) == 0:
            raise InvalidArgument(
                f"The temporal split left no training rows: every row has {spec.time_column} >= {cut_value}.",
                field="split.time_column",
            )
    else:
        return kfold(df, y, spec.folds, task=task, seed=seed)
    return [Fold("holdout", np.sort(np.asarray(train)), np.sort(np.asarray(test)))]


def kfold(df: pd.DataFrame, y: pd.Series, k: int, *, task: str, seed: int) -> list[Fold]:
    idx = np.arange(len(df))
    if task == "classification":
        _stratify_ok(y, 1.0 / k)
        splitter: StratifiedKFold | KFold = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        parts = splitter.split(idx, y.to_numpy())
    else:
        parts = KFold(n_splits=k, shuffle=True, random_state=seed).split(idx)
    return [Fold(f"fold-{i}", np.asarray(tr), np.asarray(te)) for i, (tr, te) in enumerate(parts)]


def cv_splitter(
    spec: SplitSpec, *, task: str, k: int, seed: int
) -> StratifiedKFold | KFold | GroupKFold | TimeSeriesSplit:
    """The cross-validation scheme used inside training data (hyperparameter search), matching
    the outer split: groups stay whole, time stays ordered."""
    if spec.strategy == "group":
        return GroupKFold(n_splits=k)
    if spec.strategy == "temporal":
        return TimeSeriesSplit(n_splits=k)
    if task == "classification":
        return StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return KFold(n_splits=k, shuffle=True, random_state=seed)
