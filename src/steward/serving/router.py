"""The traffic router seam: which model version of a deployment answers a request.

A :class:`Deployment` holds one or more *variants* (model versions, each with its own predictor
and micro-batcher) and one :class:`Router`. For every request the server asks the router for a
:class:`Route`: the ``primary`` variant whose answer the caller gets, and ``mirrors`` that get a
copy of the request off the request path (their answers are logged, never returned). After the
primary answered, the server reports the outcome with ``observe`` so that a router can watch
the health of what it routes to.

This issue ships :class:`SingleVersionRouter`. Canary (weighted split + staged health gates),
shadow (``mirrors``) and A/B (sticky assignment by hashing ``RouteContext.unit_id``, taken from
the ``X-Steward-Unit`` header) are routers too; they plug in with ``Deployment.set_router``
without touching the request path. ``route`` runs on the event loop for every request: keep it
to a few microseconds, with no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class RouteContext:
    """What a router may look at: the request id and the caller's unit id (for stickiness)."""

    request_id: str
    unit_id: str | None = None


@dataclass(frozen=True, slots=True)
class Route:
    primary: str
    mirrors: tuple[str, ...] = ()


@runtime_checkable
class Router(Protocol):
    kind: str

    def variants(self) -> tuple[str, ...]:
        """Every variant key this router may return (the deployment checks they exist)."""
        ...

    def route(self, ctx: RouteContext) -> Route: ...

    def observe(self, variant: str, ok: bool, latency_s: float) -> None:
        """The outcome of one request answered by ``variant`` (health gates hook here)."""
        ...


class SingleVersionRouter:
    """Everything to one variant.

    >>> SingleVersionRouter("3").route(RouteContext("r1"))
    Route(primary='3', mirrors=())
    """

    kind = "single"

    def __init__(self, variant: str) -> None:
        self.variant = variant
        self._route = Route(variant)

    def variants(self) -> tuple[str, ...]:
        return (self.variant,)

    def route(self, ctx: RouteContext) -> Route:
        return self._route

    def observe(self, variant: str, ok: bool, latency_s: float) -> None:
        return None
