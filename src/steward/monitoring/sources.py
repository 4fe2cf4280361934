"""Build a monitor's :class:`~steward.monitoring.reference.Reference` from its specification.

* ``model: NAME@alias`` or ``NAME/VERSION``: the model version's validation set, as the
  training pipeline recorded it on the version's run: the dataset version (tag
  ``steward.dataset_version``), and ``evaluation/predictions.parquet`` (the validation rows'
  indices into that data, ``y_true``, ``prediction`` and ``proba_<class>`` columns). The
  features are the model signature's inputs.
* ``dataset: REF``: a dataset version's stored data (``target`` / ``prediction`` / ``score``
  name optional columns).
* ``window``: the first N of the log, or a fixed time range.
* ``file``: a CSV or Parquet file (same optional columns as a dataset).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from steward.core.errors import InvalidArgument, NotFound
from steward.monitoring.ingest import read_file
from steward.monitoring.models import ReferenceSpec
from steward.monitoring.reference import Reference, reference_from_frame, reference_from_window
from steward.monitoring.store import MonitoringStore
from steward.monitoring.windows import Window, hour_start, parse_duration, parse_iso

if TYPE_CHECKING:
    from steward.artifacts.blobs import BlobStore
    from steward.store.uow import UnitOfWork

PREDICTIONS_ARTIFACT = "evaluation/predictions.parquet"
DATASET_TAG = "steward.dataset_version"


def build_reference(
    spec: ReferenceSpec,
    *,
    deployment: str,
    store: MonitoringStore,
    uow: Callable[[], UnitOfWork],
    blobs: BlobStore,
    features: list[str] | None = None,
) -> Reference:
    """The reference ``spec`` names (see the module docstring)."""
    if spec.window is not None:
        if spec.window.first is not None:
            hours = store.hours(deployment)
            if not hours:
                raise InvalidArgument(
                    f"Deployment {deployment!r} has logged no predictions yet, so its first "
                    f"{spec.window.first} cannot be the reference.",
                    field="reference",
                )
            start = hour_start(hours[0])
            window = Window(start, start + parse_duration(spec.window.first, field="reference.window.first"))
        else:
            assert spec.window.start is not None and spec.window.end is not None
            window = Window(parse_iso(spec.window.start), parse_iso(spec.window.end))
        ref = reference_from_window(store, deployment, window)
        ref.description = spec.describe()
        return ref
    if spec.file is not None:
        frame = read_file(spec.file).to_pandas()
        return _from_frame(frame, spec, features)
    if spec.dataset is not None:
        from steward.datasets import service as datasets

        with uow() as u:
            version = datasets.get_version(u, spec.dataset)
        frame = datasets.load_data(blobs, version)
        ref = _from_frame(frame, spec, features)
        ref.description = f"dataset {version.ref}"
        return ref
    assert spec.model is not None
    return model_reference(spec.model, uow=uow, blobs=blobs, features=features)


def _from_frame(frame: pd.DataFrame, spec: ReferenceSpec, features: list[str] | None) -> Reference:
    def present(name: str | None) -> str | None:
        if name is not None and name not in frame.columns:
            raise InvalidArgument(f"The reference has no column {name!r}.", field="reference")
        return name

    return reference_from_frame(
        frame,
        features=features,
        prediction=present(spec.prediction),
        score=present(spec.score),
        target=present(spec.target),
        description=spec.describe(),
    )


def _logged_signature(u: UnitOfWork, blobs: BlobStore, run_id: str, source: str) -> dict[str, Any]:
    """The signature logged beside the model in its run (``runs:/<run>/<path>/signature.json``)."""
    from steward.tracking import artifacts as run_artifacts

    prefix = f"runs:/{run_id}/"
    folder = source[len(prefix) :].strip("/") if source.startswith(prefix) else "model"
    try:
        doc = json.loads(run_artifacts.read_artifact(u, blobs, run_id, f"{folder}/signature.json"))
    except (NotFound, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def model_reference(
    ref: str, *, uow: Callable[[], UnitOfWork], blobs: BlobStore, features: list[str] | None = None
) -> Reference:
    """The validation set of a registered model version (see the module docstring)."""
    from steward.datasets import service as datasets
    from steward.registry import service as registry
    from steward.serving.models import ModelRef
    from steward.tracking import artifacts as run_artifacts
    from steward.tracking import service as tracking

    model = ModelRef.parse(ref)
    with uow() as u:
        if model.alias is not None:
            version = registry.version_by_alias(u, model.name, model.alias)
        else:
            version = registry.get_version(u, model.name, model.version)
        if version.run_id is None:
            raise NotFound("training run", ref, f"Model version {ref} has no run, so no validation set.")
        run = tracking.get_run(u, version.run_id)
        dataset_id = run.tags.get(DATASET_TAG)
        if dataset_id is None:
            raise NotFound("dataset version", ref, f"The run of model version {ref} names no dataset version.")
        dataset = datasets.get_version(u, dataset_id)
        predictions = pd.read_parquet(io.BytesIO(run_artifacts.read_artifact(u, blobs, run.id, PREDICTIONS_ARTIFACT)))
        model_row = u.registry.model_row(model.name)
        row = u.registry.version_row(model_row.id, version.version) if model_row else None
        signature: dict[str, Any] = (row.signature if row is not None else None) or _logged_signature(
            u, blobs, run.id, version.source
        )
    data = datasets.load_data(blobs, dataset)
    names = features or [str(i["name"]) for i in signature.get("inputs", []) if "name" in i]
    names = [c for c in names if c in data.columns]
    if not names:
        raise InvalidArgument(f"No feature of model version {ref} is in its dataset.", field="reference")
    frame = data.iloc[predictions["row"].to_numpy()][names].reset_index(drop=True)
    frame["prediction"] = predictions["prediction"].to_numpy()
    frame["target"] = predictions["y_true"].to_numpy()
    proba = [c for c in predictions.columns if str(c).startswith("proba_")]
    score = None
    if len(proba) == 2:
        frame["score"] = predictions[proba[1]].to_numpy(dtype=np.float64)
        score = "score"
    out = reference_from_frame(frame, features=names, prediction="prediction", score=score, target="target")
    out.description = f"model {model.name}/{version.version} validation set ({len(frame)} rows of {dataset.ref})"
    return out
