"""A model server that follows persisted deployments (``steward serve --deployment NAME``).

The request path never touches the database. Beside it, two background tasks:

- every ``eval_interval_s`` (50 ms by default) each canary's :class:`CanaryController` judges the
  health its router observed; a breach sends all traffic back to the stable version in this
  process at once; every decision (advance, promote, rollback) is queued as a proposal;
- a sync task records the proposals (compare-and-set on the deployment's generation), and every
  ``poll_interval_s`` reads the followed deployments (one small query) and applies what changed:
  a new router through :meth:`Deployment.set_router`-style replacement, new model versions
  resolved, materialised and loaded in a thread, then swapped in with
  :meth:`ModelServer.replace` (in-flight requests finish on what they started with). It also
  reports the health it measured, for people to see.

So a ``steward deploy`` or ``steward rollback`` reaches a running server within one poll
interval; a canary breach takes effect within one evaluation interval, and reaches the database
right after. With ``--workers N`` every worker follows on its own and judges its own share of
the traffic; the generation check makes the first decision win, and the others adopt it at
their next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from steward.core.errors import InvalidArgument, NotFound, StewardError
from steward.deployments.logs import PredictionLog
from steward.deployments.models import DeploymentState, State
from steward.serving.app import ModelServer
from steward.serving.canary import CanaryController, Proposal
from steward.serving.deployment import Deployment, Variant, build_variant
from steward.serving.loader import LoadedModel, ModelLoader, RegistryResolver, load_model_folder
from steward.serving.metrics import ServingMetrics
from steward.serving.models import Batching, ModelRef, ResolvedModel
from steward.serving.plan import ServePlan
from steward.serving.prediction_log import PredictionLogWriter
from steward.serving.strategies import CanaryRouter, router_for
from steward.store.uow import UnitOfWorkFactory

log = logging.getLogger("steward.serving.reload")


class DeploymentSource(Protocol):
    """Where a following model server reads deployments and records what it decided."""

    def states(self, names: Sequence[str]) -> dict[str, DeploymentState]: ...

    def resolve(self, model: str, version: int) -> ResolvedModel: ...

    def record(self, proposal: Proposal, actor: str) -> bool:
        """Record a decision; False when the deployment moved on meanwhile (it is then dropped)."""
        ...

    def report_health(self, name: str, health: dict[str, Any], generation: int) -> None: ...

    def accuracy(self, name: str, versions: Sequence[str], since_ms: int) -> dict[str, tuple[int, int]]: ...


class StoreSource:
    """The real source: the deployments tables, the registry, the prediction log and labels."""

    def __init__(self, uow: UnitOfWorkFactory, resolver: RegistryResolver, log: PredictionLog | None = None) -> None:
        self.uow = uow
        self.resolver = resolver
        self.log = log

    def states(self, names: Sequence[str]) -> dict[str, DeploymentState]:
        from steward.deployments import service

        with self.uow() as uow:
            return service.serving_states(uow, names)

    def resolve(self, model: str, version: int) -> ResolvedModel:
        return self.resolver.resolve(ModelRef(model, version=version))

    def record(self, proposal: Proposal, actor: str) -> bool:
        from steward.deployments import service

        try:
            with self.uow() as uow:
                service.decide(
                    uow,
                    proposal.deployment,
                    proposal.decision,
                    expected_generation=proposal.expected_generation,
                    actor=actor,
                    reason=proposal.reason,
                    details=proposal.details,
                )
                uow.commit()
        except StewardError as exc:  # moved on (Conflict) or gone: the next poll re-reads it
            log.info("decision not recorded: %s", exc.message, extra={"ctx_deployment": proposal.deployment})
            return False
        return True

    def report_health(self, name: str, health: dict[str, Any], generation: int) -> None:
        from steward.deployments import service

        with self.uow() as uow:
            if service.report_health(uow, name, health, generation=generation):
                uow.commit()

    def accuracy(self, name: str, versions: Sequence[str], since_ms: int) -> dict[str, tuple[int, int]]:
        if self.log is None:
            return {}
        return self.log.accuracy_by_version(name, versions, since_ms, time.time_ns() // 1_000_000 + 1)


@dataclass
class _Loaded:
    model: ResolvedModel
    loaded: LoadedModel


class DeploymentFollower:
    """Keeps a :class:`ModelServer`'s followed deployments in step with their persisted state."""

    def __init__(
        self,
        server: ModelServer,
        states: dict[str, DeploymentState],
        source: DeploymentSource,
        *,
        loader: ModelLoader = load_model_folder,
        batching: Batching | None = None,
        poll_interval_s: float = 2.0,
        eval_interval_s: float = 0.05,
        actor: str | None = None,
    ) -> None:
        self.server = server
        self.names = tuple(states)
        self.known = dict(states)
        self.source = source
        self.loader = loader
        self.batching = batching or Batching()
        self.poll_interval_s = poll_interval_s
        self.eval_interval_s = eval_interval_s
        self.actor = actor or f"steward-serve@{socket.gethostname()}:{os.getpid()}"
        self.controllers: dict[str, CanaryController] = {}
        self.pending: list[Proposal] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._wake: asyncio.Event | None = None
        self._health: dict[str, str] = {}

    # lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        self._wake = asyncio.Event()
        for name, state in self.known.items():
            self._control(name, state)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._evaluate_loop(), name="canary-evaluator"),
            loop.create_task(self._sync_loop(), name="deployment-sync"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self.pending:  # decisions taken must not be lost on a clean shutdown
            try:
                await self._flush()
            except Exception:
                log.exception("could not record %d canary decision(s) at shutdown", len(self.pending))

    # the canary evaluator ----------------------------------------------------------------------
    def _control(self, name: str, state: DeploymentState) -> None:
        router = self.server.deployments[name].router
        if state.state is State.CANARY and isinstance(router, CanaryRouter):
            cfg = state.config
            assert cfg is not None and cfg.schedule is not None and cfg.health is not None
            self.controllers[name] = CanaryController(
                name, router, cfg.schedule, cfg.health, stage_index=state.stage_index, generation=state.generation
            )
        else:
            self.controllers.pop(name, None)

    def evaluate(self) -> list[Proposal]:
        """One evaluation of every canary (what the evaluator task runs)."""
        found = []
        for ctl in list(self.controllers.values()):
            proposal = ctl.tick()
            if proposal is not None:
                log.warning(
                    "canary %s: %s (%s)",
                    proposal.deployment,
                    proposal.decision,
                    proposal.reason,
                    extra={"ctx_deployment": proposal.deployment, "ctx_decision": proposal.decision},
                )
                found.append(proposal)
        if found:
            self.pending.extend(found)
            if self._wake is not None:
                self._wake.set()
        return found

    async def _evaluate_loop(self) -> None:
        while True:
            await asyncio.sleep(self.eval_interval_s)
            try:
                self.evaluate()
            except Exception:  # pragma: no cover - the evaluator must outlive a bug in one tick
                log.exception("canary evaluation failed")

    # the sync task -----------------------------------------------------------------------------
    async def _sync_loop(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        next_poll = loop.time() + self.poll_interval_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, next_poll - loop.time()))
            self._wake.clear()
            try:
                await self._flush()
                if loop.time() >= next_poll:
                    await self.sync()
            except Exception:  # the database may be away for a while: keep serving, retry
                log.exception("deployment sync failed; retrying at the next poll")
            if loop.time() >= next_poll:
                next_poll = loop.time() + self.poll_interval_s

    async def _flush(self) -> None:
        while self.pending:
            proposal = self.pending[0]
            recorded = await asyncio.to_thread(self.source.record, proposal, self.actor)
            self.pending.pop(0)
            if not recorded:
                self.pending = [p for p in self.pending if p.deployment != proposal.deployment]
                self.known.pop(proposal.deployment, None)  # re-apply whatever is stored now

    async def sync(self) -> None:
        """Poll once: record health, then apply every change of the followed deployments."""
        await self._report()
        states = await asyncio.to_thread(self.source.states, self.names)
        for name, state in states.items():
            if any(p.deployment == name for p in self.pending):
                continue  # our own decision is not recorded yet: what is stored is older
            await self.apply(name, state)

    async def _report(self) -> None:
        for name, state in list(self.known.items()):
            dep = self.server.deployments.get(name)
            if dep is None or state.state is State.STABLE:
                continue
            ctl = self.controllers.get(name)
            if ctl is not None and ctl.router.candidate in dep.variants and ctl.policy.gates_accuracy:
                since = ctl.stage_started_ms
                ctl.router.labels = await asyncio.to_thread(
                    self.source.accuracy, name, [ctl.router.stable, ctl.router.candidate], since
                )
            watched = getattr(dep.router, "health", None)
            doc: dict[str, Any] = {
                "reporter": self.actor,
                "router": dep.router.kind,
                "variants": watched() if callable(watched) else {},
            }
            if ctl is not None:
                doc["controller"] = ctl.status()
            key = repr(doc)
            if self._health.get(name) == key:
                continue
            self._health[name] = key
            doc["measured_at"] = time.time_ns() // 1_000_000
            generation = ctl.generation if ctl is not None else state.generation
            await asyncio.to_thread(self.source.report_health, name, doc, generation)

    def _matches(self, name: str, state: DeploymentState) -> bool:
        """Whether this process already routes ``name`` as ``state`` says (our own advance)."""
        ctl = self.controllers.get(name)
        known = self.known.get(name)
        if ctl is None or known is None or ctl.done or state.state is not State.CANARY:
            return False
        r = ctl.router
        return (
            known.rollout_id == state.rollout_id
            and (r.stable, r.candidate) == (str(state.stable_version), str(state.candidate_version))
            and ctl.stage_index == state.stage_index
            and r.traffic == state.traffic
        )

    async def apply(self, name: str, state: DeploymentState) -> None:
        """Route ``name`` as ``state`` says, loading any version not loaded yet."""
        known = self.known.get(name)
        if known is not None and known.generation == state.generation:
            return
        if self._matches(name, state):
            self.known[name] = state
            self.controllers[name].generation = state.generation
            return
        dep = self.server.deployments[name]
        variants: list[Variant] = []
        for version in state.versions:
            key = str(version)
            existing = dep.variants.get(key)
            if existing is not None:
                variants.append(existing)
                continue
            try:
                got = await asyncio.to_thread(self._load, state.model, version)
            except Exception as exc:
                self._load_failed(name, state, version, exc)
                return
            variants.append(self._variant(name, got))
        await self.server.replace(Deployment(name, variants, router_for(state)))
        self.known[name] = state
        self._control(name, state)
        log.info(
            "deployment %s now %s (generation %d)",
            name,
            state.state.value,
            state.generation,
            extra={"ctx_deployment": name, "ctx_split": state.split},
        )

    def _load(self, model: str, version: int) -> _Loaded:
        resolved = self.source.resolve(model, version)
        return _Loaded(resolved, self.loader(resolved.path))

    def _variant(self, name: str, got: _Loaded) -> Variant:
        est, sig = got.loaded.estimator, got.loaded.signature
        return build_variant(name, got.model, est, sig, self.batching, self.server.metrics)

    def _load_failed(self, name: str, state: DeploymentState, version: int, exc: BaseException) -> None:
        log.error("deployment %s: version %d failed to load: %r", name, version, exc, extra={"ctx_deployment": name})
        self.known[name] = state  # do not retry in a loop; a new deploy (a new generation) will
        if state.state is State.STABLE and state.previous_version is None:
            return
        reason = f"version {version} failed to load in the model server: {type(exc).__name__}: {exc}"[:1000]
        self.pending.append(Proposal(name, "rollback", state.generation, reason, {"failed_version": version}))
        if self._wake is not None:
            self._wake.set()


class FollowingModelServer(ModelServer):
    """A :class:`ModelServer` whose followed deployments track their persisted state."""

    follower: DeploymentFollower

    async def startup(self) -> None:
        await super().startup()
        await self.follower.start()

    async def shutdown(self) -> None:
        await self.follower.stop()
        await super().shutdown()


def build_following_server(
    names: Iterable[str],
    source: DeploymentSource,
    *,
    plan: ServePlan | None = None,
    loader: ModelLoader = load_model_folder,
    batching: Batching | None = None,
    poll_interval_s: float = 2.0,
    eval_interval_s: float = 0.05,
    actor: str | None = None,
) -> FollowingModelServer:
    """Load the followed deployments (and ``plan``'s static ones) and assemble the server."""
    names = list(dict.fromkeys(names))
    states = source.states(names)
    missing = [n for n in names if n not in states]
    if missing:
        raise NotFound("deployment", missing[0], f"No deployment named {missing[0]!r}; create it with steward deploy.")
    clash = sorted(set(states) & {d.name for d in (plan.deployments if plan is not None else ())})
    if clash:
        raise InvalidArgument(
            f"Deployments {clash} are named both as a model and with --deployment.", field="deployment"
        )
    metrics = ServingMetrics()
    batching = batching or Batching()
    deployments = []
    for d in plan.deployments if plan is not None else ():
        loaded = loader(d.model.path)
        variant = build_variant(d.name, d.model, loaded.estimator, loaded.signature, d.batching, metrics)
        deployments.append(Deployment(d.name, [variant]))
    for name, state in states.items():
        variants = []
        for version in state.versions:
            resolved = source.resolve(state.model, version)
            loaded = loader(resolved.path)
            variants.append(build_variant(name, resolved, loaded.estimator, loaded.signature, batching, metrics))
        deployments.append(Deployment(name, variants, router_for(state)))
    writer = None
    if plan is not None and plan.prediction_log is not None:
        p = plan.prediction_log
        Path(p.root).mkdir(parents=True, exist_ok=True)
        writer = PredictionLogWriter(
            p.root, flush_interval_s=p.flush_interval_s, flush_rows=p.flush_rows, max_buffered_rows=p.max_buffered_rows
        )
    server = FollowingModelServer(deployments, metrics=metrics, prediction_log=writer)
    server.follower = DeploymentFollower(
        server,
        states,
        source,
        loader=loader,
        batching=batching,
        poll_interval_s=poll_interval_s,
        eval_interval_s=eval_interval_s,
        actor=actor,
    )
    return server
