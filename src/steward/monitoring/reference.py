"""The reference a window is compared with: what the model saw when it was validated, or any
chosen window of the log.

A :class:`Reference` is a :class:`~steward.monitoring.summaries.SegmentSummary` (sketches of
every feature, of the prediction and of the score) plus, when labels are known, the labelled
arrays that fit label-free performance estimation (CBPE) and the concept-drift test, and a
small row sample for multivariate drift. It is built through the same path as the log's own
summaries (:func:`steward.monitoring.ingest.predictions_table`), so a column has the same kind
(numerical or categorical) on both sides.

Sources: a DataFrame (:func:`reference_from_frame`), a window of the store
(:func:`reference_from_window`), or a model version's validation set, as the training pipeline
records it (the run's dataset version and ``evaluation/predictions.parquet``; see
:mod:`steward.monitoring.service`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from steward.core.errors import InvalidArgument
from steward.monitoring.ingest import as_text, predictions_table
from steward.monitoring.store import MonitoringStore
from steward.monitoring.summaries import SUMMARY_SAMPLE_CAP, SegmentSummary, summarise
from steward.monitoring.windows import Window

ROW_SAMPLE = 5_000


@dataclass
class Reference:
    """Sketches of the reference, its labelled predictions (text labels, scores) if any, and a
    row sample of its features."""

    summary: SegmentSummary
    description: str
    y_true: npt.NDArray[Any] | None = None
    y_pred: npt.NDArray[Any] | None = None
    y_score: npt.NDArray[np.float64] | None = None
    rows: pd.DataFrame | None = None

    @property
    def labelled(self) -> bool:
        return self.y_true is not None and self.y_pred is not None and len(self.y_true) > 0

    def positive_label(self) -> str | None:
        """The class the score is the probability of: the usual prediction where score > 0.5."""
        return positive_label(self.y_pred, self.y_score)

    def to_bytes(self) -> bytes:
        arrays: dict[str, Any] = {"summary": np.frombuffer(self.summary.to_bytes(), dtype=np.uint8)}
        if self.y_true is not None and self.y_pred is not None:
            arrays["y_true"] = np.asarray(self.y_true, dtype=str)
            arrays["y_pred"] = np.asarray(self.y_pred, dtype=str)
        if self.y_score is not None:
            arrays["y_score"] = np.asarray(self.y_score, dtype=np.float64)
        if self.rows is not None:
            buf = io.BytesIO()
            pq.write_table(pa.Table.from_pandas(self.rows, preserve_index=False), buf)
            arrays["rows"] = np.frombuffer(buf.getvalue(), dtype=np.uint8)
        arrays["meta"] = np.frombuffer(json.dumps({"description": self.description}).encode(), dtype=np.uint8)
        out = io.BytesIO()
        np.savez(out, allow_pickle=False, **arrays)
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Reference:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            meta = json.loads(npz["meta"].tobytes())
            rows = pq.read_table(io.BytesIO(npz["rows"].tobytes())).to_pandas() if "rows" in npz else None
            return cls(
                summary=SegmentSummary.from_bytes(npz["summary"].tobytes()),
                description=str(meta["description"]),
                y_true=_get(npz, "y_true"),
                y_pred=_get(npz, "y_pred"),
                y_score=_get(npz, "y_score"),
                rows=rows,
            )


def _get(npz: Any, key: str) -> npt.NDArray[Any] | None:
    return np.asarray(npz[key]) if key in npz.files else None


def positive_label(y_pred: npt.NDArray[Any] | None, y_score: npt.NDArray[np.float64] | None) -> str | None:
    if y_pred is None or y_score is None or len(y_pred) == 0:
        return None
    high = np.asarray(y_pred)[np.asarray(y_score) > 0.5]
    if high.size == 0:
        return None
    values, counts = np.unique(high.astype(str), return_counts=True)
    return str(values[int(np.argmax(counts))])


def reference_from_frame(
    frame: pd.DataFrame,
    *,
    features: Sequence[str] | None = None,
    prediction: str | None = "prediction",
    score: str | None = "score",
    target: str | None = None,
    description: str = "frame",
    sample_cap: int = SUMMARY_SAMPLE_CAP,
    random_state: int = 0,
) -> Reference:
    """A reference from a DataFrame of features, with optional prediction, score and target
    columns (used when present; the target and predictions give CBPE and concept drift their
    reference). ``features`` defaults to every other column."""
    prediction = prediction if prediction in frame.columns else None
    score = score if score in frame.columns else None
    target = target if target in frame.columns else None
    extras = {c for c in (prediction, score, target) if c}
    names = list(features) if features is not None else [c for c in frame.columns if c not in extras]
    missing = [c for c in names if c not in frame.columns]
    if missing or not names:
        raise InvalidArgument(f"The reference lacks the feature columns {missing or '(none)'}.", field="reference")
    data = frame[names].copy()
    has_prediction = prediction is not None
    data["prediction"] = frame[prediction].to_numpy() if prediction is not None else "?"
    if score is not None:
        data["score"] = frame[score].to_numpy(dtype=np.float64)
    table = predictions_table(data, deployment="reference", features=names, now_ms=0)
    if not has_prediction:
        table = table.drop_columns(["prediction", "prediction_value"])
    summary = summarise(table, sample_cap=sample_cap, seed=random_state)
    ref = Reference(summary, description, rows=_sample_rows(frame[names], random_state))
    if has_prediction and target is not None:
        ref.y_true = np.asarray(as_text(pa.array(frame[target].to_numpy())).to_pylist(), dtype=str)
        ref.y_pred = np.asarray(table["prediction"].to_pylist(), dtype=str)
        ref.y_score = frame[score].to_numpy(dtype=np.float64) if score is not None else None
    return ref


def _sample_rows(frame: pd.DataFrame, random_state: int) -> pd.DataFrame:
    if len(frame) <= ROW_SAMPLE:
        return frame.reset_index(drop=True)
    return frame.sample(ROW_SAMPLE, random_state=random_state).reset_index(drop=True)


def reference_from_window(store: MonitoringStore, deployment: str, window: Window) -> Reference:
    """A reference from a window of the log: its summary, its labelled rows, a row sample."""
    summary = store.window_summary(deployment, window)
    if summary.primary_rows == 0:
        raise InvalidArgument(
            f"The reference window {window.label()} of deployment {deployment!r} holds no predictions.",
            field="reference",
        )
    labelled = store.labelled(deployment, window)
    have = labelled.filter(pc.is_valid(labelled["label"])) if labelled.num_rows else labelled
    ref = Reference(summary, f"window {window.label()} of {deployment}", rows=window_rows(store, deployment, window))
    if have.num_rows:
        ref.y_true = np.asarray(have["label"].to_pylist(), dtype=str)
        ref.y_pred = np.asarray(have["prediction"].to_pylist(), dtype=str)
        scores = have["score"]
        ref.y_score = None if scores.null_count else scores.to_numpy().astype(np.float64)
    return ref


def window_rows(store: MonitoringStore, deployment: str, window: Window, n: int = ROW_SAMPLE) -> pd.DataFrame | None:
    """A uniform sample of at most ``n`` rows of the window's features (for multivariate drift)."""
    import duckdb

    scan = store.scan(deployment, window)
    if scan is None:
        return None
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        sql = (
            f"select unnest(features) from {scan} where timestamp >= make_timestamp(?::bigint * 1000)::timestamptz "
            f"and timestamp < make_timestamp(?::bigint * 1000)::timestamptz using sample reservoir({int(n)} rows) "
            "repeatable (7)"
        )
        frame: pd.DataFrame = con.sql(sql, params=[window.start_ms, window.end_ms]).df()
    return frame if len(frame) else None
