"""Hyperparameter search with Optuna: seeded TPE, sequential (so a seed gives one answer),
each trial scored by cross-validation on the training rows only.

A search-space key names an estimator parameter (``max_depth``) or, with ``__``, any
parameter of the whole pipeline (``preprocess__numeric__scale__with_mean``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline

from steward.core.errors import InvalidArgument, UserCodeError
from steward.pipelines.spec import SearchParam, SearchSpec, SplitSpec
from steward.pipelines.splits import cv_splitter


@dataclass(frozen=True)
class Trial:
    number: int
    params: dict[str, Any]
    score: float
    seconds: float


@dataclass(frozen=True)
class SearchResult:
    metric: str
    best_params: dict[str, Any]
    best_score: float
    trials: list[Trial]


OnTrial = Callable[[Trial], None]


def pipeline_params(params: dict[str, Any]) -> dict[str, Any]:
    return {(k if "__" in k else f"model__{k}"): v for k, v in params.items()}


def _suggest(trial: optuna.Trial, name: str, p: SearchParam) -> Any:
    if p.type == "categorical":
        return trial.suggest_categorical(name, list(p.choices or []))
    assert p.low is not None and p.high is not None
    if p.type == "int":
        step = int(p.step) if p.step else 1
        return trial.suggest_int(name, int(p.low), int(p.high), step=step, log=p.log)
    return trial.suggest_float(name, p.low, p.high, step=p.step, log=p.log)


def default_metric(task: str, n_classes: int) -> str:
    if task == "regression":
        return "r2"
    return "roc_auc" if n_classes == 2 else "roc_auc_ovr"


def run_search(
    model: Pipeline,
    X: pd.DataFrame,  # noqa: N803
    y: pd.Series,
    *,
    spec: SearchSpec,
    split: SplitSpec,
    task: str,
    seed: int,
    groups: np.ndarray | None = None,
    on_trial: OnTrial | None = None,
) -> SearchResult:
    """Search ``spec.space`` for ``model``; return the best params (not refitted)."""
    metric = spec.metric or default_metric(task, int(y.nunique()))
    cv = cv_splitter(split, task=task, k=spec.cv, seed=seed)
    trials: list[Trial] = []
    for key in spec.space:
        target = pipeline_params({key: None})
        if next(iter(target)) not in model.get_params(deep=True):
            raise InvalidArgument(
                f"The search parameter {key!r} is not a parameter of the model.", field=f"search.space.{key}"
            )

    def objective(trial: optuna.Trial) -> float:
        params = {name: _suggest(trial, name, p) for name, p in spec.space.items()}
        candidate = clone(model).set_params(**pipeline_params(params))
        started = time.perf_counter()
        try:
            scores = cross_val_score(
                candidate, X, y, groups=groups, cv=cv, scoring=metric, n_jobs=1, error_score="raise"
            )
        except InvalidArgument:
            raise
        except Exception as exc:
            raise UserCodeError(f"search trial {trial.number}", exc) from exc
        score = float(np.mean(scores))
        done = Trial(trial.number, params, score, time.perf_counter() - started)
        trials.append(done)
        if on_trial is not None:
            on_trial(done)
        return score

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    try:
        study.optimize(objective, n_trials=spec.trials, n_jobs=1, catch=())
    except ValueError as exc:
        if "scoring" in str(exc) or "scorer" in str(exc):
            raise InvalidArgument(f"Unknown search metric {metric!r}: {exc}", field="search.metric") from None
        raise
    return SearchResult(metric, dict(study.best_params), float(study.best_value), trials)
