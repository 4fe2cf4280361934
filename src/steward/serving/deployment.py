"""A deployment: a name callers use, its model versions (variants) and the router between them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from steward.core.errors import InvalidArgument
from steward.serving.batcher import MicroBatcher
from steward.serving.inputs import InputSchema
from steward.serving.metrics import ServingMetrics, VariantMetrics
from steward.serving.models import Batching, ResolvedModel
from steward.serving.predictor import Predictor
from steward.serving.router import Router, SingleVersionRouter


@dataclass
class Variant:
    """One model version inside a deployment, ready to serve."""

    deployment: str
    model: ResolvedModel
    schema: InputSchema
    predictor: Predictor
    batcher: MicroBatcher
    metrics: VariantMetrics

    @property
    def key(self) -> str:
        return self.model.version

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.model.name,
            "version": self.model.version,
            "ref": self.model.ref,
            "task": self.predictor.task,
            "classes": self.predictor.classes,
            "inputs": [{"name": f.name, "type": f.type, "nullable": f.nullable} for f in self.schema.fields],
            "input_form": "dataframe" if self.predictor.uses_frame else "ndarray",
            "batching": {
                "max_batch_size": self.batcher.batching.max_batch_size,
                "max_wait_ms": self.batcher.batching.max_wait_ms,
            },
        }


def build_variant(
    deployment: str,
    model: ResolvedModel,
    estimator: Any,
    signature: Mapping[str, Any],
    batching: Batching,
    metrics: ServingMetrics,
) -> Variant:
    schema = InputSchema.from_signature(signature)
    predictor = Predictor(estimator, schema, signature)
    bound = metrics.bind(deployment, model.version)
    batcher = MicroBatcher(
        predictor.predict,
        batching,
        name=f"{deployment}-{model.version}",
        on_batch=lambda _requests, rows: bound.batch_rows.observe(rows),
    )
    return Variant(deployment, model, schema, predictor, batcher, bound)


class Deployment:
    def __init__(self, name: str, variants: list[Variant], router: Router | None = None) -> None:
        if not variants:
            raise InvalidArgument(f"Deployment {name!r} needs at least one model version.", field="deployment")
        self.name = name
        self.variants = {v.key: v for v in variants}
        self.router: Router = router or SingleVersionRouter(variants[0].key)
        self.set_router(self.router)

    def set_router(self, router: Router) -> None:
        unknown = [k for k in router.variants() if k not in self.variants]
        if unknown:
            raise InvalidArgument(
                f"Router {router.kind!r} of deployment {self.name!r} names model versions {unknown} that "
                f"the deployment does not hold ({sorted(self.variants)}).",
                field="router",
            )
        self.router = router

    @property
    def primary(self) -> Variant:
        return self.variants[self.router.variants()[0]]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "router": self.router.kind,
            "variants": [v.describe() for v in self.variants.values()],
        }
