"""The router seam: deployments hold variants; a router picks the primary and any mirrors."""

from __future__ import annotations

import pytest
from tests.support.serving import numeric_model

from steward.core.errors import InvalidArgument
from steward.serving.deployment import Deployment, build_variant
from steward.serving.metrics import ServingMetrics
from steward.serving.models import Batching, ResolvedModel
from steward.serving.router import Route, RouteContext, Router, SingleVersionRouter


class MirrorRouter:
    kind = "test-mirror"

    def __init__(self, primary: str, mirror: str) -> None:
        self.primary, self.mirror = primary, mirror
        self.seen: list[tuple[str, bool]] = []

    def variants(self) -> tuple[str, ...]:
        return (self.primary, self.mirror)

    def route(self, ctx: RouteContext) -> Route:
        return Route(self.primary, (self.mirror,))

    def observe(self, variant: str, ok: bool, latency_s: float) -> None:
        self.seen.append((variant, ok))


def deployment(*versions: str) -> Deployment:
    model, sig, _ = numeric_model(n_features=3, n_estimators=2)
    metrics = ServingMetrics()
    variants = [
        build_variant("d", ResolvedModel("m", v, "/nowhere"), model, sig, Batching(), metrics) for v in versions
    ]
    return Deployment("d", variants)


def test_single_version_router_always_routes_to_its_version() -> None:
    router = SingleVersionRouter("7")
    assert {router.route(RouteContext(str(i), unit_id=str(i))) for i in range(50)} == {Route("7")}
    assert isinstance(router, Router)


def test_deployment_defaults_to_its_first_version() -> None:
    dep = deployment("1", "2")
    assert dep.router.kind == "single" and dep.primary.key == "1"


def test_router_naming_an_unknown_version_is_refused() -> None:
    dep = deployment("1")
    with pytest.raises(InvalidArgument, match=r"\['9'\]"):
        dep.set_router(MirrorRouter("1", "9"))


def test_custom_router_plugs_in() -> None:
    dep = deployment("1", "2")
    dep.set_router(MirrorRouter("2", "1"))
    assert dep.primary.key == "2"
    assert dep.describe()["router"] == "test-mirror"
