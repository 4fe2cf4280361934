"""What one model server process serves, resolved once and handed to every worker.

``steward serve`` resolves each ``NAME@alias`` / ``NAME/VERSION`` against the registry in the
parent process, materialises the model folders, and passes a :class:`ServePlan` (plain JSON) to
its uvicorn workers; each worker builds its :class:`ModelServer` from the plan without any
database access.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from steward.serving.app import ModelServer
from steward.serving.deployment import Deployment, build_variant
from steward.serving.loader import ModelLoader, ModelResolver, load_model_folder
from steward.serving.metrics import ServingMetrics
from steward.serving.models import Batching, DeploymentSpec, ResolvedModel
from steward.serving.prediction_log import PredictionLogWriter


@dataclass(frozen=True)
class PlannedDeployment:
    name: str
    model: ResolvedModel
    batching: Batching = field(default_factory=Batching)


@dataclass(frozen=True)
class LogPlan:
    root: str
    flush_interval_s: float = 1.0
    flush_rows: int = 20_000
    max_buffered_rows: int = 500_000


@dataclass(frozen=True)
class ServePlan:
    deployments: tuple[PlannedDeployment, ...]
    prediction_log: LogPlan | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServePlan:
        doc: dict[str, Any] = json.loads(text)
        deps = tuple(
            PlannedDeployment(d["name"], ResolvedModel(**d["model"]), Batching(**d["batching"]))
            for d in doc["deployments"]
        )
        log = LogPlan(**doc["prediction_log"]) if doc.get("prediction_log") else None
        return cls(deps, log)


def resolve_plan(specs: Sequence[DeploymentSpec], resolver: ModelResolver, prediction_log: LogPlan | None) -> ServePlan:
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        from steward.core.errors import InvalidArgument

        raise InvalidArgument(
            f"Deployment names must be unique; {dupes} repeat. Name them with '=NAME'.", field="deployment"
        )
    return ServePlan(
        tuple(PlannedDeployment(s.name, resolver.resolve(s.model), s.batching) for s in specs), prediction_log
    )


def build_server(plan: ServePlan, loader: ModelLoader = load_model_folder) -> ModelServer:
    """Load every planned model and assemble the ASGI app (one call per worker process)."""
    metrics = ServingMetrics()
    deployments = []
    for d in plan.deployments:
        loaded = loader(d.model.path)
        variant = build_variant(d.name, d.model, loaded.estimator, loaded.signature, d.batching, metrics)
        deployments.append(Deployment(d.name, [variant]))
    writer = None
    if plan.prediction_log is not None:
        p = plan.prediction_log
        Path(p.root).mkdir(parents=True, exist_ok=True)
        writer = PredictionLogWriter(
            p.root,
            flush_interval_s=p.flush_interval_s,
            flush_rows=p.flush_rows,
            max_buffered_rows=p.max_buffered_rows,
        )
    return ModelServer(deployments, metrics=metrics, prediction_log=writer)
