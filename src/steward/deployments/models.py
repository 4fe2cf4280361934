"""Deployments, pure: states, the transitions allowed between them, and rollout configuration.

A deployment is a name callers use (``churn-api``) and the model versions of one registered
model behind it. It is always in one of four states::

    (new) --create--> STABLE --start_canary--> CANARY --advance--> CANARY ... --promote--> STABLE
                        |  ^ --start_shadow--> SHADOW --promote | rollback--> STABLE
                        |  | --start_ab-----> AB     --promote | rollback--> STABLE
                        |  +-- deploy (switch the stable version), revert (back to the previous one)
                        +----- CANARY --rollback--> STABLE (the candidate is dropped)

``STABLE`` serves one version. A *rollout* (canary, shadow or A/B) adds a *candidate* version
next to the stable one; it ends by promotion (the candidate becomes the stable version, the old
stable version becomes the ``previous_version``) or by rollback (the candidate is dropped). A new
rollout cannot start while one runs: roll back or promote first.

``traffic`` is the candidate's share: the canary stage's percentage, the A/B treatment's weight,
or the fraction of requests a shadow receives a copy of. Every change that affects routing bumps
``generation``; model servers compare it with what they serve (and use it as a compare-and-set
token when they record a transition they decided, e.g. a canary rolling itself back).

>>> s = create("churn-api", "churn", 3, now_ms=0)
>>> s = start_rollout(s, RolloutConfig.canary(), 4, rollout_id="r1", now_ms=0)
>>> s.state, s.traffic, s.stage_index
(<State.CANARY: 'canary'>, 0.01, 0)
>>> rollback(s, now_ms=1).state, rollback(s, now_ms=1).stable_version
(<State.STABLE: 'stable'>, 3)
"""

from __future__ import annotations

import enum
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from steward.core.errors import Conflict, InvalidArgument

DEFAULT_STAGES = (1.0, 5.0, 10.0, 25.0, 50.0, 100.0)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class Strategy(enum.StrEnum):
    SINGLE = "single"
    CANARY = "canary"
    SHADOW = "shadow"
    AB = "ab"

    @classmethod
    def parse(cls, value: object) -> Strategy:
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise InvalidArgument(
                f"The 'strategy' must be one of {[s.value for s in cls]}. Got {value!r} instead.", field="strategy"
            ) from None


class State(enum.StrEnum):
    STABLE = "stable"
    CANARY = "canary"
    SHADOW = "shadow"
    AB = "ab"


class Action(enum.StrEnum):
    CREATE = "create"
    DEPLOY = "deploy"
    REVERT = "revert"
    START_CANARY = "start_canary"
    START_SHADOW = "start_shadow"
    START_AB = "start_ab"
    ADVANCE = "advance"
    PROMOTE = "promote"
    ROLLBACK = "rollback"


class RolloutStatus(enum.StrEnum):
    RUNNING = "running"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"


ALLOWED: dict[State | None, frozenset[Action]] = {
    None: frozenset({Action.CREATE}),
    State.STABLE: frozenset({Action.DEPLOY, Action.REVERT, Action.START_CANARY, Action.START_SHADOW, Action.START_AB}),
    State.CANARY: frozenset({Action.ADVANCE, Action.PROMOTE, Action.ROLLBACK}),
    State.SHADOW: frozenset({Action.PROMOTE, Action.ROLLBACK}),
    State.AB: frozenset({Action.PROMOTE, Action.ROLLBACK}),
}
_START = {Strategy.CANARY: Action.START_CANARY, Strategy.SHADOW: Action.START_SHADOW, Strategy.AB: Action.START_AB}
_STATE_OF = {Strategy.CANARY: State.CANARY, Strategy.SHADOW: State.SHADOW, Strategy.AB: State.AB}


def check_deployment_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidArgument(
            "The deployment 'name' must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or "
            f"digit. Got {name!r} instead.",
            field="name",
        )
    return name


def _number(value: object, name: str, owner: str, low: float, high: float, *, low_open: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and (value > low if low_open else value >= low) and value <= high:  # type: ignore[operator]
        return float(value)  # type: ignore[arg-type]
    bracket = "(" if low_open else "["
    raise InvalidArgument(
        f"The {name!r} parameter of {owner} must be a number in {bracket}{low:g}, {high:g}]. Got {value!r} instead.",
        field=name,
    )


def _count(value: object, name: str, owner: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidArgument(
            f"The {name!r} parameter of {owner} must be an integer >= {low}. Got {value!r} instead.", field=name
        )
    return value


# configuration ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CanarySchedule:
    """Traffic stages (percent of requests to the candidate, increasing, ending at 100) and how
    long each is held: at least ``min_requests`` answered by the candidate *and* at least
    ``min_minutes`` (set one to 0 to hold on the other only).

    >>> CanarySchedule().stages
    (1.0, 5.0, 10.0, 25.0, 50.0, 100.0)
    >>> CanarySchedule(stages=(10, 5, 100))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    steward.core.errors.InvalidArgument: The 'stages' of a canary must increase strictly and end at 100...
    """

    stages: tuple[float, ...] = DEFAULT_STAGES
    min_requests: int = 100
    min_minutes: float = 5.0

    def __post_init__(self) -> None:
        stages = tuple(self.stages) if isinstance(self.stages, Sequence) else ()
        owner = "CanarySchedule"
        for s in stages:
            _number(s, "stages", owner, 0.0, 100.0, low_open=True)
        if not stages or any(b <= a for a, b in itertools.pairwise(stages)) or stages[-1] != 100:
            raise InvalidArgument(
                f"The 'stages' of a canary must increase strictly and end at 100. Got {self.stages!r} instead.",
                field="stages",
            )
        if len(stages) > 20:
            raise InvalidArgument(f"A canary has at most 20 stages. Got {len(stages)}.", field="stages")
        object.__setattr__(self, "stages", tuple(float(s) for s in stages))
        _count(self.min_requests, "min_requests", owner)
        object.__setattr__(self, "min_minutes", _number(self.min_minutes, "min_minutes", owner, 0.0, 7 * 24 * 60.0))

    def traffic(self, stage_index: int) -> float:
        return self.stages[stage_index] / 100.0

    @property
    def last(self) -> int:
        return len(self.stages) - 1


@dataclass(frozen=True)
class HealthPolicy:
    """The thresholds a canary must stay within.

    - ``max_error_rate``: model errors / requests answered by the candidate.
    - ``max_latency_p95_ms``: the candidate's 95th percentile of server time (None: not gated).
    - ``min_accuracy``: accuracy on labelled predictions, once ``min_labelled`` labels arrived
      (None: not gated); ``max_accuracy_drop``: at most this far below the stable version's.
    - ``min_requests``: no verdict on fewer candidate requests than this in a stage.
    - ``confidence``: a breach is declared only when the bound of a one-sided interval at this
      level is past the threshold. Health is judged again every few milliseconds, so the level
      is high (99.9%) to keep repeated looks from adding up to false alarms: a few unlucky
      requests do not roll back a healthy version, while one that fails every request is rolled
      back after ``min_requests``.
    """

    max_error_rate: float = 0.01
    max_latency_p95_ms: float | None = 250.0
    min_accuracy: float | None = None
    max_accuracy_drop: float | None = None
    min_requests: int = 10
    min_labelled: int = 50
    confidence: float = 0.999

    def __post_init__(self) -> None:
        owner = "HealthPolicy"
        object.__setattr__(self, "max_error_rate", _number(self.max_error_rate, "max_error_rate", owner, 0.0, 1.0))
        if self.max_latency_p95_ms is not None:
            p95 = _number(self.max_latency_p95_ms, "max_latency_p95_ms", owner, 0.0, 600_000.0, low_open=True)
            object.__setattr__(self, "max_latency_p95_ms", p95)
        if self.min_accuracy is not None:
            object.__setattr__(self, "min_accuracy", _number(self.min_accuracy, "min_accuracy", owner, 0.0, 1.0))
        if self.max_accuracy_drop is not None:
            drop = _number(self.max_accuracy_drop, "max_accuracy_drop", owner, 0.0, 1.0)
            object.__setattr__(self, "max_accuracy_drop", drop)
        _count(self.min_requests, "min_requests", owner, 1)
        _count(self.min_labelled, "min_labelled", owner, 1)
        object.__setattr__(self, "confidence", _number(self.confidence, "confidence", owner, 0.5, 0.9999))

    @property
    def gates_accuracy(self) -> bool:
        return self.min_accuracy is not None or self.max_accuracy_drop is not None


@dataclass(frozen=True)
class ABConfig:
    """An A/B test: units (``X-Steward-Unit``) hashed to control (the stable version) or
    treatment (the candidate) in proportion to ``split``; analysed with
    :func:`steward.experiments.analyze_ab`, sequentially by default so that looking early is safe."""

    split: tuple[float, float] = (0.5, 0.5)
    metric_type: str = "mean"
    mde: float | None = None
    planned_n: int | None = None
    alpha: float = 0.05
    higher_is_better: bool = True
    sequential: bool = True

    def __post_init__(self) -> None:
        owner = "ABConfig"
        split = tuple(self.split) if isinstance(self.split, Sequence) else ()
        if len(split) != 2:
            raise InvalidArgument(f"An A/B 'split' has two shares. Got {self.split!r} instead.", field="split")
        a, b = (_number(x, "split", owner, 0.0, 1.0) for x in split)
        if abs(a + b - 1.0) > 1e-9 or a == 0.0 or b == 0.0:
            raise InvalidArgument(
                f"The A/B 'split' shares must be positive and sum to 1. Got {self.split!r} instead.", field="split"
            )
        object.__setattr__(self, "split", (a, b))
        if self.metric_type not in ("mean", "proportion"):
            raise InvalidArgument(
                f"The 'metric_type' must be 'mean' or 'proportion'. Got {self.metric_type!r} instead.",
                field="metric_type",
            )
        if self.mde is not None:
            object.__setattr__(self, "mde", _number(self.mde, "mde", owner, 0.0, math.inf, low_open=True))
        if self.planned_n is not None:
            _count(self.planned_n, "planned_n", owner, 4)
        object.__setattr__(self, "alpha", _number(self.alpha, "alpha", owner, 0.0, 0.5, low_open=True))
        if self.sequential and self.mde is None and self.planned_n is None:
            # the mSPRT's mixing distribution must be fixed before the first look
            object.__setattr__(self, "planned_n", 1000)


@dataclass(frozen=True)
class RolloutConfig:
    """How a rollout runs: the strategy and its settings (only the strategy's own apply)."""

    strategy: Strategy
    schedule: CanarySchedule | None = None
    health: HealthPolicy | None = None
    mirror_fraction: float = 1.0
    ab: ABConfig | None = None

    @classmethod
    def canary(cls, schedule: CanarySchedule | None = None, health: HealthPolicy | None = None) -> RolloutConfig:
        return cls(Strategy.CANARY, schedule or CanarySchedule(), health or HealthPolicy())

    @classmethod
    def shadow(cls, mirror_fraction: float = 1.0) -> RolloutConfig:
        return cls(Strategy.SHADOW, mirror_fraction=mirror_fraction)

    @classmethod
    def ab_test(cls, ab: ABConfig | None = None) -> RolloutConfig:
        return cls(Strategy.AB, ab=ab or ABConfig())

    def __post_init__(self) -> None:
        frac = _number(self.mirror_fraction, "mirror_fraction", "RolloutConfig", 0.0, 1.0, low_open=True)
        object.__setattr__(self, "mirror_fraction", frac)
        if self.strategy is Strategy.CANARY and (self.schedule is None or self.health is None):
            raise InvalidArgument("A canary needs a schedule and a health policy.", field="strategy")
        if self.strategy is Strategy.AB and self.ab is None:
            raise InvalidArgument("An A/B rollout needs its ABConfig.", field="strategy")

    def initial_traffic(self) -> float:
        if self.strategy is Strategy.CANARY:
            assert self.schedule is not None
            return self.schedule.traffic(0)
        if self.strategy is Strategy.AB:
            assert self.ab is not None
            return self.ab.split[1]
        if self.strategy is Strategy.SHADOW:
            return self.mirror_fraction
        return 0.0

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"strategy": self.strategy.value}
        if self.strategy is Strategy.CANARY:
            doc["schedule"], doc["health"] = asdict(self.schedule), asdict(self.health)  # type: ignore[arg-type]
        elif self.strategy is Strategy.SHADOW:
            doc["mirror_fraction"] = self.mirror_fraction
        elif self.strategy is Strategy.AB:
            doc["ab"] = asdict(self.ab)  # type: ignore[arg-type]
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> RolloutConfig:
        strategy = Strategy.parse(doc.get("strategy"))
        schedule = health = ab = None
        if doc.get("schedule") is not None:
            s = dict(doc["schedule"])
            schedule = CanarySchedule(**{**s, "stages": tuple(s.get("stages", DEFAULT_STAGES))})
        if doc.get("health") is not None:
            health = HealthPolicy(**doc["health"])
        if doc.get("ab") is not None:
            a = dict(doc["ab"])
            ab = ABConfig(**{**a, "split": tuple(a.get("split", (0.5, 0.5)))})
        return cls(strategy, schedule, health, float(doc.get("mirror_fraction", 1.0)), ab)


# parsing what people type ----------------------------------------------------------------------
def parse_stages(text: str) -> tuple[float, ...]:
    """``"1,5,10,25,50,100"`` (percent signs allowed) as stages.

    >>> parse_stages("10%, 50, 100")
    (10.0, 50.0, 100.0)
    """
    try:
        stages = tuple(float(p.strip().rstrip("%")) for p in str(text).split(",") if p.strip())
    except ValueError:
        raise InvalidArgument(
            f"The 'stages' are comma-separated percentages such as '1,5,10,25,50,100'. Got {text!r} instead.",
            field="stages",
        ) from None
    return CanarySchedule(stages=stages).stages


def parse_split(text: str) -> tuple[float, float]:
    """A two-way split: ``"90/10"`` (stable/candidate, any scale), ``"10%"`` or ``"0.1"`` (candidate).

    >>> parse_split("90/10"), parse_split("25%"), parse_split("0.5")
    ((0.9, 0.1), (0.75, 0.25), (0.5, 0.5))
    """
    raw = str(text).strip()
    try:
        if "/" in raw:
            a_text, _, b_text = raw.partition("/")
            a, b = float(a_text.strip().rstrip("%")), float(b_text.strip().rstrip("%"))
            if a < 0 or b < 0 or a + b <= 0 or not math.isfinite(a + b):
                raise ValueError
            share = b / (a + b)
        elif raw.endswith("%"):
            share = float(raw[:-1]) / 100.0
        else:
            share = float(raw)
    except ValueError:
        share = math.nan
    if not 0.0 < share < 1.0:
        raise InvalidArgument(
            "The 'split' is STABLE/CANDIDATE ('90/10'), a percentage ('10%') or a fraction ('0.1') strictly "
            f"between 0 and 1. Got {text!r} instead.",
            field="split",
        )
    share = round(share, 12)
    return (round(1.0 - share, 12), share)


# state -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeploymentState:
    """Everything a model server needs to route a deployment's traffic."""

    name: str
    model: str
    state: State
    stable_version: int
    previous_version: int | None = None
    candidate_version: int | None = None
    stage_index: int = -1
    traffic: float = 0.0
    generation: int = 1
    rollout_id: str | None = None
    config: RolloutConfig | None = None
    stage_started_at: int = 0

    @property
    def strategy(self) -> Strategy:
        return self.config.strategy if self.config is not None else Strategy.SINGLE

    @property
    def versions(self) -> tuple[int, ...]:
        return (
            (self.stable_version,) if self.candidate_version is None else (self.stable_version, self.candidate_version)
        )

    @property
    def split(self) -> dict[str, float]:
        """Share of the requests each version answers (a shadow answers none: it gets copies)."""
        if self.candidate_version is None or self.state is State.SHADOW:
            return {str(self.stable_version): 1.0}
        return {str(self.stable_version): round(1.0 - self.traffic, 12), str(self.candidate_version): self.traffic}

    def route_key(self) -> tuple[Any, ...]:
        """What routing depends on: two states with the same key route the same way."""
        return (
            self.state,
            self.stable_version,
            self.candidate_version,
            self.stage_index,
            self.traffic,
            self.rollout_id,
        )


def allowed(state: State | None) -> frozenset[Action]:
    return ALLOWED[state]


def check(state: State | None, action: Action, name: str = "") -> None:
    if action not in ALLOWED[state]:
        where = f"deployment {name!r}" if name else "a deployment"
        now = state.value if state is not None else "not created"
        permitted = ", ".join(sorted(a.value for a in ALLOWED[state])) or "nothing"
        hint = " Roll back or promote the running rollout first." if state not in (None, State.STABLE) else ""
        raise Conflict(
            f"Cannot {action.value.replace('_', ' ')} {where}: it is {now} (allowed: {permitted}).{hint}",
            state=now,
            action=action.value,
        )


def _bump(s: DeploymentState, now_ms: int, **changes: Any) -> DeploymentState:
    return replace(s, generation=s.generation + 1, stage_started_at=now_ms, **changes)


def create(name: str, model: str, version: int, *, now_ms: int) -> DeploymentState:
    check(None, Action.CREATE, name)
    return DeploymentState(check_deployment_name(name), model, State.STABLE, version, stage_started_at=now_ms)


def deploy(s: DeploymentState, version: int, *, now_ms: int) -> DeploymentState:
    """Switch the stable version at once (a single-version deployment)."""
    check(s.state, Action.DEPLOY, s.name)
    if version == s.stable_version:
        raise InvalidArgument(f"Deployment {s.name!r} already serves version {version}.", field="model")
    return _bump(s, now_ms, stable_version=version, previous_version=s.stable_version)


def revert(s: DeploymentState, *, now_ms: int) -> DeploymentState:
    """Back to the previous stable version (and reverting again undoes it)."""
    check(s.state, Action.REVERT, s.name)
    if s.previous_version is None:
        raise Conflict(
            f"Deployment {s.name!r} has no previous version to roll back to (it has only served "
            f"version {s.stable_version}).",
            state=s.state.value,
            action=Action.REVERT.value,
        )
    return _bump(s, now_ms, stable_version=s.previous_version, previous_version=s.stable_version)


def start_rollout(
    s: DeploymentState, config: RolloutConfig, version: int, *, rollout_id: str, now_ms: int
) -> DeploymentState:
    if config.strategy is Strategy.SINGLE:
        raise InvalidArgument("A single-version deployment is not a rollout: use deploy().", field="strategy")
    check(s.state, _START[config.strategy], s.name)
    if version == s.stable_version:
        raise InvalidArgument(
            f"The candidate must differ from the stable version {s.stable_version} of {s.name!r}.", field="model"
        )
    return _bump(
        s,
        now_ms,
        state=_STATE_OF[config.strategy],
        candidate_version=version,
        stage_index=0 if config.strategy is Strategy.CANARY else -1,
        traffic=config.initial_traffic(),
        rollout_id=rollout_id,
        config=config,
    )


def advance(s: DeploymentState, *, now_ms: int) -> DeploymentState:
    """The next canary stage; at the last stage, use :func:`promote`."""
    check(s.state, Action.ADVANCE, s.name)
    assert s.config is not None and s.config.schedule is not None
    if s.stage_index >= s.config.schedule.last:
        raise Conflict(f"The canary of {s.name!r} is at its last stage: promote it.", action=Action.ADVANCE.value)
    nxt = s.stage_index + 1
    return _bump(s, now_ms, stage_index=nxt, traffic=s.config.schedule.traffic(nxt))


def promote(s: DeploymentState, *, now_ms: int) -> DeploymentState:
    """The candidate becomes the stable version; the old stable one is kept as the previous."""
    check(s.state, Action.PROMOTE, s.name)
    assert s.candidate_version is not None
    return _end(s, now_ms, stable_version=s.candidate_version, previous_version=s.stable_version)


def rollback(s: DeploymentState, *, now_ms: int) -> DeploymentState:
    """Undo: drop a running rollout's candidate, or else go back to the previous version."""
    if s.state is State.STABLE:
        return revert(s, now_ms=now_ms)
    check(s.state, Action.ROLLBACK, s.name)
    return _end(s, now_ms)


def rollback_action(state: State) -> Action:
    return Action.REVERT if state is State.STABLE else Action.ROLLBACK


def _end(s: DeploymentState, now_ms: int, **changes: Any) -> DeploymentState:
    return _bump(
        s,
        now_ms,
        state=State.STABLE,
        candidate_version=None,
        stage_index=-1,
        traffic=0.0,
        rollout_id=None,
        config=None,
        **changes,
    )


@dataclass(frozen=True)
class Change:
    """One transition as history keeps it: who, when, why, and the state it led to."""

    action: Action
    actor: str
    reason: str
    at: int
    before: State | None
    after: DeploymentState
    details: dict[str, Any] = field(default_factory=dict)


def build_config(
    strategy: Strategy | str,
    *,
    split: str | None = None,
    stages: str | Sequence[float] | None = None,
    hold_requests: int | None = None,
    hold_minutes: float | None = None,
    max_error_rate: float | None = None,
    max_latency_p95_ms: float | None = None,
    min_accuracy: float | None = None,
    max_accuracy_drop: float | None = None,
    metric_type: str | None = None,
    mde: float | None = None,
    planned_n: int | None = None,
    alpha: float | None = None,
    higher_is_better: bool | None = None,
    sequential: bool | None = None,
) -> RolloutConfig | None:
    """The rollout configuration from what a person typed (None for ``single``); an option that
    does not apply to the strategy is an error, not silently ignored. ``max_latency_p95_ms=0``
    turns the latency gate off.

    >>> build_config("canary", stages="10,100", hold_requests=50).schedule
    CanarySchedule(stages=(10.0, 100.0), min_requests=50, min_minutes=5.0)
    >>> build_config("shadow", split="25%").mirror_fraction
    0.25
    """
    strategy = Strategy.parse(strategy)
    canary_opts: dict[str, Any] = {
        "stages": stages, "hold_requests": hold_requests, "hold_minutes": hold_minutes,
        "max_error_rate": max_error_rate, "max_latency_p95_ms": max_latency_p95_ms, "min_accuracy": min_accuracy,
        "max_accuracy_drop": max_accuracy_drop,
    }  # fmt: skip
    ab_opts: dict[str, Any] = {
        "metric_type": metric_type, "mde": mde, "planned_n": planned_n, "alpha": alpha,
        "higher_is_better": higher_is_better, "sequential": sequential,
    }  # fmt: skip
    own: dict[str, Any] = {Strategy.CANARY: canary_opts, Strategy.AB: ab_opts}.get(strategy, {})
    for option, value in {**canary_opts, **ab_opts, "split": split}.items():
        applies = option in own or (option == "split" and strategy in (Strategy.SHADOW, Strategy.AB))
        if value is not None and not applies:
            raise InvalidArgument(
                f"The '{option}' option does not apply to the {strategy.value} strategy.", field=option
            )
    if strategy is Strategy.SINGLE:
        return None
    if strategy is Strategy.SHADOW:
        return RolloutConfig.shadow(parse_split(split)[1] if split is not None else 1.0)
    if strategy is Strategy.AB:
        given = {k: v for k, v in ab_opts.items() if v is not None}
        return RolloutConfig.ab_test(ABConfig(split=parse_split(split) if split is not None else (0.5, 0.5), **given))
    hold: dict[str, Any] = {"min_requests": hold_requests, "min_minutes": hold_minutes}
    if stages is None:
        stages = DEFAULT_STAGES
    schedule = CanarySchedule(
        stages=parse_stages(stages) if isinstance(stages, str) else tuple(stages),
        **{k: v for k, v in hold.items() if v is not None},
    )
    health: dict[str, Any] = {
        k: v
        for k, v in (
            ("max_error_rate", max_error_rate),
            ("min_accuracy", min_accuracy),
            ("max_accuracy_drop", max_accuracy_drop),
        )
        if v is not None
    }
    if max_latency_p95_ms is not None:
        health["max_latency_p95_ms"] = None if max_latency_p95_ms == 0 else max_latency_p95_ms
    return RolloutConfig.canary(schedule, HealthPolicy(**health))
