"""Train the demo's runs with the pipeline runner, register their models, promote them through
their gates and deploy what production points to: each step through Steward's own services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from steward.demo.spec import demo_specs
from steward.runtime import Runtime

MODEL = "adult"
DEPLOYMENT = "adult-income"
ACTOR = "steward-demo"


@dataclass
class Trained:
    """What the training part of the demo made."""

    experiment: str = ""
    runs: list[str] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)
    production: int | None = None
    refused: dict[int, str] = field(default_factory=dict)


def train_runs(runtime: Runtime, step: Callable[[str], None]) -> Trained:
    """Run each demo spec as ``steward train`` does (a run with every artifact per spec)."""
    from steward.pipelines.runner import train
    from steward.pipelines.spec import parse_spec
    from steward.sdk.backends import LocalBackend
    from steward.sdk.client import Client

    out = Trained()
    tracker = Client(LocalBackend(runtime))
    for label, text in demo_specs():
        step(f"train ({label})")
        result = train(parse_spec(text), text, runtime=runtime, tracker=tracker, base_dir=Path.cwd())
        out.experiment = result.experiment
        out.runs.append(result.run_id)
    return out


def register_and_promote(runtime: Runtime, trained: Trained, step: Callable[[str], None]) -> None:
    """Each run's model becomes the next version; each is promoted to production if its gates
    pass, and the deployment follows production (so its history shows every switch)."""
    from steward.deployments import service as deployments
    from steward.registry import promotion
    from steward.registry import service as registry

    for run_id in trained.runs:
        step("register")
        with runtime.uow() as uow:
            version = registry.register_run_model(
                uow, MODEL, run_id, description=f"Trained by the demo pipeline, run {run_id}.", user_id=ACTOR
            ).version
            result = promotion.promote(
                uow, MODEL, version, actor=ACTOR, reason="demo: gates passed", blobs=runtime.blobs
            )
            uow.commit()  # a refused promotion is recorded too
        trained.versions.append(version)
        if not result.promoted:
            trained.refused[version] = "; ".join(result.decision.reasons)
            continue
        first = trained.production is None
        trained.production = version
        step("deploy")
        with runtime.uow() as uow:
            deployments.deploy(
                uow,
                DEPLOYMENT,
                f"{MODEL}@{promotion.PRODUCTION}",
                actor=ACTOR,
                reason="demo: first release" if first else f"demo: production moved to v{version}",
                description="Income above $50K from census answers (Steward's demo).",
            )
            uow.commit()
