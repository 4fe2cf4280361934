"""Evaluation of a trained model, by ``steward.evaluation``: automatically at the end of
training, and on new data through ``steward evaluate MODEL --data FILE``.

What the evaluation needs besides the data (target, positive class, sensitive and slice
columns, gates, seed) travels in the model's signature ``metadata``, so that a model folder
alone is enough to evaluate it again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from steward.core.errors import InvalidArgument, UserCodeError
from steward.evaluation import (
    EvaluationReport,
    evaluate_classifier,
    evaluate_gates,
    evaluate_regressor,
    learning_curve,
    model_card,
    permutation_importance,
    render_html,
    shap_available,
)
from steward.pipelines.model_format import Signature, unseen_categories, validate_input
from steward.pipelines.spec import PipelineSpec
from steward.pipelines.training import Fitted, native_threads

if TYPE_CHECKING:
    from steward.pipelines.champion import Champion

_IMPORTANCE_ROWS = 2000


@dataclass
class Evaluation:
    """The model's report, the baseline's and the champion's (when there are), and feature
    importance. ``champion_info`` names the registered version compared with, or why none."""

    report: EvaluationReport
    baseline: EvaluationReport | None = None
    importance: list[dict[str, Any]] = field(default_factory=list)
    unseen: dict[str, list[str]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    champion: EvaluationReport | None = None
    champion_info: dict[str, Any] | None = None

    @property
    def gates(self) -> list[dict[str, Any]]:
        return [
            {
                "gate": g.gate,
                "metric": g.metric,
                "passed": g.passed,
                "observed": g.observed,
                "threshold": g.threshold,
                "reason": g.reason,
                "applicable": g.applicable,
            }
            for g in self.report.gates
        ]

    @property
    def gates_passed(self) -> bool:
        return all(g.passed for g in self.report.gates)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.report.to_dict(),
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "champion": self._champion_dict(),
            "importance": self.importance,
            "gates": self.gates,
            "gates_passed": self.gates_passed,
            "unseen_categories": self.unseen,
            **self.extra,
        }

    def _champion_dict(self) -> dict[str, Any] | None:
        if self.champion_info is None:
            return None
        metrics = finite(self.champion.metrics) if self.champion is not None else None
        return {**self.champion_info, "metrics": metrics}

    def html(self, title: str) -> str:
        return render_html(self.report, title=title)

    def card(
        self, *, name: str, data: str, limitations: Sequence[str] = (), about: Mapping[str, Any] | None = None
    ) -> str:
        """The Markdown model card; ``about`` holds the spec's ``card`` section."""
        info = dict(about or {})
        training = info.get("training_data")
        if self.baseline is not None:
            shown = {k: v for k, v in self.baseline.metrics.items() if k in self.report.metrics}
            base = "; ".join(f"{k} {v:.4g}" for k, v in list(shown.items())[:6])
            training = f"{training or ''} Baseline, trained and evaluated the same way: {base}.".strip()
        return model_card(
            self.report,
            model_name=name,
            owners=info.get("owners") or (),
            description=info.get("description"),
            intended_use=info.get("intended_use"),
            out_of_scope_use=info.get("out_of_scope_use"),
            data=data,
            training_data=training,
            limitations=[*(info.get("limitations") or []), *limitations],
            ethical_considerations=info.get("ethical_considerations"),
        )


def _frame(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame | None:
    cols = [c for c in dict.fromkeys(columns) if c in frame.columns]
    return frame[cols].reset_index(drop=True) if cols else None


def evaluate_scores(
    task: str,
    y_true: np.ndarray,
    scores: np.ndarray,
    *,
    classes: Sequence[Any] | None,
    positive_class: Any,
    frame: pd.DataFrame | None,
    slices: Sequence[str],
    sensitive: Sequence[str],
    gates: Sequence[Mapping[str, Any]] = (),
    references: Mapping[str, Mapping[str, float]] | None = None,
    n_bootstrap: int = 200,
    min_support: int = 30,
    seed: int = 0,
    name: str | None = None,
    fairness: Mapping[str, Any] | None = None,
) -> EvaluationReport:
    present = [c for c in slices if frame is not None and c in frame.columns]
    sens = [c for c in sensitive if frame is not None and c in frame.columns]
    common: dict[str, Any] = {
        "frame": frame,
        # with no slice columns, the evaluation slices by every column of ``frame``: the sensitive ones
        "slice_columns": present or None,
        "min_support": min_support,
        "gates": list(gates) or None,
        "references": references,
        "n_bootstrap": n_bootstrap,
        "random_state": seed,
        "name": name,
    }
    if task == "regression":
        return evaluate_regressor(y_true, scores, **common)
    return evaluate_classifier(
        y_true,
        scores,
        labels=list(classes) if classes is not None else None,
        pos_label=positive_class,
        sensitive=sens or None,
        fairness_thresholds=fairness,
        **common,
    )


def importance(model: Any, X: pd.DataFrame, y: pd.Series, *, task: str, seed: int) -> list[dict[str, Any]]:  # noqa: N803
    """Permutation importance on (a seeded sample of at most 2,000 of) the evaluation rows, and
    SHAP importance too when the ``shap`` extra is installed."""
    if len(X) > _IMPORTANCE_ROWS:
        pick = np.random.default_rng(seed).choice(len(X), _IMPORTANCE_ROWS, replace=False)
        pick.sort()
        X, y = X.iloc[pick], y.iloc[pick]  # noqa: N806
    scoring = "r2" if task == "regression" else "balanced_accuracy"
    try:
        with native_threads(1):
            found = permutation_importance(model, X, y, scoring=scoring, n_repeats=3, random_state=seed)
    except InvalidArgument:
        raise
    except Exception as exc:
        raise UserCodeError("permutation importance", exc) from exc
    out = [{"feature": f.feature, "importance": f.importance, "std": f.std, "method": f.method} for f in found]
    if shap_available():  # the `shap` extra: mean |SHAP value| per input column, beside the permutation figures
        from steward.pipelines.explain import pipeline_shap

        try:
            with native_threads(1):
                out += pipeline_shap(model, X, max_samples=500, seed=seed) or []
        except Exception as exc:  # optional figures: a failure is reported, it does not fail training
            return [*out, {"feature": None, "importance": None, "std": None, "method": "shap", "error": str(exc)}]
    return out


def learning_curve_of(
    model: Any,
    X: pd.DataFrame,  # noqa: N803
    y: pd.Series,
    *,
    task: str,
    seed: int,
) -> dict[str, Any]:
    """Cross-validated (3-fold) train and validation scores of a fresh copy of ``model`` on
    growing shares of the training rows."""
    from sklearn.base import clone

    from steward.pipelines.search import default_metric

    scoring = default_metric(task, int(y.nunique()))
    with native_threads(1):
        curve = learning_curve(
            clone(model), X, y, train_sizes=(0.1, 0.3, 0.6, 1.0), cv=3, scoring=scoring, random_state=seed
        )
    return {
        "scoring": scoring,
        "train_sizes": curve.train_sizes,
        "train_mean": curve.train_mean,
        "train_std": curve.train_std,
        "validation_mean": curve.test_mean,
        "validation_std": curve.test_std,
    }


def model_scores(model: Any, X: pd.DataFrame, task: str) -> np.ndarray:  # noqa: N803
    try:
        with native_threads(1):
            if task == "classification" and hasattr(model, "predict_proba"):
                return np.asarray(model.predict_proba(X), dtype=float)
            return np.asarray(model.predict(X))
    except Exception as exc:
        raise UserCodeError("predict", exc) from exc


def evaluate_model(
    model: Any,
    signature: Signature,
    data: pd.DataFrame,
    *,
    target: str | None = None,
    n_bootstrap: int | None = None,
) -> Evaluation:
    """Evaluate a stored model on new labelled data (``steward evaluate``).

    The data must hold the model's inputs and the target; other columns are ignored except
    the slice and sensitive columns recorded at training. Unseen categories are reported in
    ``Evaluation.unseen`` and scored as the model's encoders treat unknown values."""
    meta = signature.metadata
    target = target or meta.get("target")
    if not target:
        raise InvalidArgument("Name the target column (--target); the model does not record it.", field="target")
    if target not in data.columns:
        raise InvalidArgument(f"The target column {target!r} is not in the data.", field="target")
    labelled = data[data[target].notna()]
    if len(labelled) == 0:
        raise InvalidArgument(f"The target column {target!r} has no values.", field="target")
    X = validate_input(labelled, signature, extra="drop")  # noqa: N806
    scores = model_scores(model, X, signature.task)
    y = labelled[target].to_numpy()
    if signature.task == "regression":
        y = y.astype(float)
    ev = meta.get("evaluation") or {}
    report = evaluate_scores(
        signature.task,
        y,
        scores,
        classes=signature.classes,
        positive_class=meta.get("positive_class"),
        frame=_frame(labelled, [*ev.get("slices", []), *ev.get("sensitive", [])]),
        slices=ev.get("slices", []),
        sensitive=ev.get("sensitive", []),
        gates=meta.get("gates", []),
        n_bootstrap=ev.get("bootstrap", 200) if n_bootstrap is None else n_bootstrap,
        min_support=ev.get("min_support", 30),
        seed=int(meta.get("seed", 0)),
        name=meta.get("pipeline"),
        fairness=ev.get("fairness"),
    )
    return Evaluation(report, unseen=unseen_categories(labelled, signature), extra={"rows": len(labelled)})


def finite(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def _score_champion(
    spec: PipelineSpec, fitted: Fitted, champion: Champion, common: Mapping[str, Any]
) -> EvaluationReport:
    """The champion's metrics on the candidate's evaluation rows (the same split)."""
    signature = champion.signature
    assert signature is not None
    if signature.task != spec.task:
        raise InvalidArgument(
            f"The champion {champion.ref} is a {signature.task} model; this pipeline trains {spec.task}.",
            field="registry.model",
        )
    rows = fitted.prepared.frame.iloc[fitted.eval_index].reset_index(drop=True)
    try:
        X = validate_input(rows, signature, extra="drop")  # noqa: N806
    except InvalidArgument as exc:
        raise InvalidArgument(
            f"The champion {champion.ref} cannot score this pipeline's rows: {exc.message}", field="registry.model"
        ) from None
    y_true = fitted.prepared.y.to_numpy()[fitted.eval_index]
    if spec.task == "regression":
        y_true = y_true.astype(float)
    scores = model_scores(champion.estimator, X, spec.task)
    args = {**common, "classes": signature.classes}
    return evaluate_scores(spec.task, y_true, scores, n_bootstrap=0, name=f"champion {champion.ref}", **args)


def _champion_note(spec: PipelineSpec, fitted: Fitted, champion: Champion) -> str:
    if not champion.found:
        return f"Champion gates not applicable: {champion.missing}."
    note = f"Compared with the champion {champion.ref} (alias {champion.alias!r}), scored on the same evaluation rows."
    meta = champion.signature.metadata if champion.signature else {}
    same = meta.get("dataset_version") == fitted.signature.metadata.get("dataset_version") and meta.get(
        "seed"
    ) == fitted.signature.metadata.get("seed")
    if spec.split.strategy == "kfold" or not same:
        note += " It may have been trained on some of these rows, which flatters it."
    return note


def evaluate_fitted(spec: PipelineSpec, fitted: Fitted, champion: Champion | None = None) -> Evaluation:
    """The evaluation at the end of training: the model and the baseline (and the champion, when
    the spec names a registered model) on the evaluation rows, importance, learning curve; gates
    relative to the baseline and the champion."""
    p = fitted.prepared
    ev = spec.evaluation
    y_true = p.y.to_numpy()[fitted.eval_index]
    if spec.task == "regression":
        y_true = y_true.astype(float)
    cols = [c for c in dict.fromkeys([*ev.slices, *ev.sensitive]) if c in p.frame.columns]
    frame = p.frame.iloc[fitted.eval_index][cols].reset_index(drop=True) if cols else None
    common: dict[str, Any] = {
        "classes": p.classes,
        "positive_class": p.positive_class,
        "frame": frame,
        "slices": ev.slices,
        "sensitive": ev.sensitive,
        "min_support": ev.min_support,
        "seed": spec.seed,
        "fairness": ev.fairness,
    }
    base_scores = (
        fitted.baseline_probabilities if fitted.baseline_probabilities is not None else fitted.baseline_predictions
    )
    baseline = evaluate_scores(spec.task, y_true, base_scores, n_bootstrap=0, name="baseline", **common)
    references = {"baseline": finite(baseline.metrics)}
    champ = _score_champion(spec, fitted, champion, common) if champion is not None and champion.found else None
    if champ is not None:
        references["champion"] = finite(champ.metrics)
    report = evaluate_scores(
        spec.task,
        y_true,
        fitted.scores,
        gates=spec.gates,
        references=references,
        n_bootstrap=ev.bootstrap,
        name=spec.name,
        **common,
    )
    if champion is not None:
        report.notes.append(_champion_note(spec, fitted, champion))
        if not champion.found:
            report.gates = _without_champion(spec, report, references, champion)
    if spec.split.strategy == "kfold" and spec.search is not None:
        report.notes.append(
            "Hyperparameters were searched on every row before the k-fold evaluation, so the "
            "out-of-fold metrics are somewhat optimistic; use a hold-out split for an unbiased estimate."
        )
    rows = fitted.eval_index
    imp = importance(fitted.model, p.X.iloc[rows], p.y.iloc[rows], task=spec.task, seed=spec.seed)
    extra: dict[str, Any] = {"folds": fitted.fold_sizes, "split": spec.split.strategy}
    if ev.learning_curve:
        if spec.split.strategy in ("group", "temporal"):
            report.notes.append("No learning curve: its shuffled folds would mix groups or time order.")
        else:
            train_rows = p.folds[0].train if spec.split.strategy != "kfold" else np.arange(len(p.X))
            extra["learning_curve"] = learning_curve_of(
                fitted.model, p.X.iloc[train_rows], p.y.iloc[train_rows], task=spec.task, seed=spec.seed
            )
    info = champion.to_dict() if champion is not None else None
    return Evaluation(report, baseline, imp, extra=extra, champion=champ, champion_info=info)


def _without_champion(
    spec: PipelineSpec, report: EvaluationReport, references: Mapping[str, Mapping[str, float]], champion: Champion
) -> list[Any]:
    """Gates when no version holds the champion alias yet: champion gates are not applicable,
    or fail with that reason when the spec requires a champion."""
    required = spec.registry is not None and spec.registry.require_champion
    unavailable = {} if required else {"champion": champion.missing}
    gates = evaluate_gates(spec.gates, report.gate_metrics(), references=references, unavailable=unavailable)
    if not required:
        return gates
    why = f"{champion.missing}, and registry.require_champion is set"
    return [replace(g, reason=why) if not g.passed and "reference 'champion'" in g.reason else g for g in gates]


def run_metrics(ev: Evaluation) -> dict[str, float]:
    """What a training run logs as metrics: the model's, intervals, ``baseline.<metric>``."""
    out = finite(ev.report.metrics)
    for name, ci in ev.report.confidence_intervals.items():
        out[f"{name}.ci_lower"] = float(ci.lower)
        out[f"{name}.ci_upper"] = float(ci.upper)
    if ev.baseline is not None:
        out |= {f"baseline.{k}": v for k, v in finite(ev.baseline.metrics).items()}
    if ev.champion is not None:
        out |= {f"champion.{k}": v for k, v in finite(ev.champion.metrics).items()}
    return out
