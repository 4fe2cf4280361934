"""The SDK's model registry does the same in-process and against a real server on loopback,
and raises the same Steward errors on both."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest

from steward.core.errors import Conflict, Forbidden, InvalidArgument, NotFound
from steward.registry import promotion
from steward.registry.promotion import PromotionBlocked
from steward.runtime import Runtime
from steward.sdk.backends import HttpBackend, LocalBackend
from steward.sdk.registry import HttpRegistry, LocalRegistry, ModelRegistry
from steward.tracking import service as tracking


@pytest.fixture(params=["local", "http"])
def sdk(request: pytest.FixtureRequest, runtime: Runtime) -> Iterator[tuple[ModelRegistry, ModelRegistry]]:
    """(an Engineer's registry, a Compliance Officer's registry) on one store."""
    tokens = request.getfixturevalue("tokens")  # creates the users on both backends
    if request.param == "local":
        yield ModelRegistry.local(runtime, actor="engineer"), ModelRegistry.local(runtime, actor="compliance-officer")
        return
    url = request.getfixturevalue("live_url")
    engineer = ModelRegistry.http(url, tokens["Engineer"])
    officer = ModelRegistry.http(url, tokens["Compliance Officer"])
    yield engineer, officer
    for r in (engineer, officer):
        assert isinstance(r.backend, HttpRegistry)
        r.backend.close()


@pytest.fixture
def models(sdk: tuple[ModelRegistry, ModelRegistry]) -> ModelRegistry:
    return sdk[0]


def _run(runtime: Runtime, gates: str | None) -> str:
    with runtime.uow() as uow:
        exp = tracking.get_or_create_experiment(uow, "churn")
        run = tracking.create_run(
            uow, exp.id, name="train", tags={"steward.gates": gates} if gates else {}, git_commit="a" * 40
        )
        uow.commit()
        return run.id


def test_register_get_list_and_lineage(models: ModelRegistry, runtime: Runtime) -> None:
    first, second = _run(runtime, "passed"), _run(runtime, None)
    v1 = models.register("churn", first, description="baseline")
    v2 = models.register("churn", second, path="model/")
    assert (v1.version, v1.run_id, v1.source, v1.description) == (1, first, f"runs:/{first}/model", "baseline")
    assert (v2.version, v2.source) == (2, f"runs:/{second}/model")
    assert [v.version for v in models.list_versions("churn")] == [1, 2]
    assert models.get_version("churn", 2).run_id == second
    assert [m.name for m in models.list_models()] == ["churn"]
    assert models.list_models("name LIKE 'x%'") == []
    lineage = models.lineage("churn", 1)
    assert lineage["run"]["id"] == first and lineage["code"]["git_commit"] == "a" * 40


def test_aliases_move_and_their_history_answers_which_version_at_a_time(
    models: ModelRegistry, runtime: Runtime
) -> None:
    for _ in range(2):
        models.register("churn", _run(runtime, None))
    moved = models.set_alias("churn", "champion", 1, reason="first")
    assert moved is not None and (moved.from_version, moved.to_version, moved.actor) == (None, 1, "engineer")
    time.sleep(0.01)
    between = dt.datetime.now(dt.UTC)
    time.sleep(0.01)
    models.set_alias("churn", "champion", 2)
    assert models.set_alias("churn", "champion", 2) is None
    models.set_alias("churn", "shadow", 1)
    models.delete_alias("churn", "shadow", reason="done")
    assert models.get_model("churn").aliases == {"champion": 2}
    assert models.get_version("churn", 2).aliases == ["champion"]
    assert [(e.from_version, e.to_version) for e in models.alias_history("churn", "champion")] == [(None, 1), (1, 2)]
    assert [(e.alias, e.to_version, e.reason) for e in models.alias_history("churn")][-2:] == [
        ("shadow", 1, ""),
        ("shadow", None, "done"),
    ]
    assert models.alias_at("churn", "champion", between) == 1
    assert models.alias_at("churn", "champion", between.isoformat()) == 1
    assert models.alias_at("churn", "champion", int(between.timestamp() * 1000) - 60_000) is None
    assert models.alias_at("churn", "champion", dt.datetime.now(dt.UTC)) == 2


def test_tags_and_descriptions(models: ModelRegistry, runtime: Runtime) -> None:
    models.register("churn", _run(runtime, None))
    models.set_tag("churn", "team", "risk")
    models.set_tag("churn", "validated", "yes", version=1)
    models.set_description("churn", "scores churn")
    models.set_description("churn", "first", version=1)
    model, v1 = models.get_model("churn"), models.get_version("churn", 1)
    assert (model.tags, model.description, v1.tags, v1.description) == (
        {"team": "risk"},
        "scores churn",
        {"validated": "yes"},
        "first",
    )
    models.delete_tag("churn", "team")
    models.delete_tag("churn", "validated", version=1)
    assert models.get_model("churn").tags == {} and models.get_version("churn", 1).tags == {}


def test_promotion_through_gates_and_approval(sdk: tuple[ModelRegistry, ModelRegistry], runtime: Runtime) -> None:
    models, officer = sdk
    models.register("churn", _run(runtime, "failed"))
    models.register("churn", _run(runtime, "passed"))
    with pytest.raises(PromotionBlocked) as blocked:
        models.promote("churn", 1, reason="try")
    assert blocked.value.reasons and "gates failed" in blocked.value.reasons[0]
    for spelling in ("production", "Production"):
        with pytest.raises(PromotionBlocked, match="cannot become 'production'"):
            models.set_alias("churn", spelling, 1)
    with runtime.uow() as uow:
        promotion.set_policy(uow, "churn", promotion.Policy(require_approval=True), actor="admin")
        uow.commit()
    with pytest.raises(PromotionBlocked, match="approval"):
        models.promote("churn", 2)
    assert officer.approve("churn", 2, reason="reviewed").actor == "compliance-officer"
    with pytest.raises(Conflict, match="already approved"):
        officer.approve("churn", 2)
    result = models.promote("churn", 2, reason="approved")
    assert result.promoted and result.approvers == ["compliance-officer"] and result.previous_version is None
    assert models.get_model("churn").aliases == {"production": 2}
    assert [e.action for e in models.promotions("churn")] == [
        "blocked",
        "blocked",
        "blocked",
        "policy",
        "blocked",
        "approved",
        "promoted",
    ]


def test_errors_are_the_same_steward_errors_on_both_backends(
    sdk: tuple[ModelRegistry, ModelRegistry], runtime: Runtime
) -> None:
    models, _ = sdk
    with pytest.raises(NotFound) as missing:
        models.get_model("nope")
    assert missing.value.kind == "registered_model" and missing.value.key == "nope"
    with pytest.raises(NotFound, match=r"f{32}"):
        models.register("churn", "f" * 32)
    models.register("churn", _run(runtime, None))
    with pytest.raises(NotFound) as no_version:
        models.get_version("churn", 9)
    assert (no_version.value.kind, no_version.value.key) == ("model_version", "churn/9")
    with pytest.raises(InvalidArgument) as bad:
        models.set_alias("churn", "latest", 1)
    assert bad.value.field == "alias"
    with pytest.raises(InvalidArgument, match="time zone"):
        models.alias_at("churn", "champion", "2026-01-01T00:00:00")
    with pytest.raises(NotFound, match="'missing'"):
        models.delete_tag("churn", "missing")
    with pytest.raises(Forbidden, match="models:approve"):
        models.approve("churn", 1)  # an Engineer may not approve
    assert models.get_model("churn").aliases == {}


def test_the_registry_follows_an_sdk_clients_backend(runtime: Runtime, live_url: str, tokens: dict[str, str]) -> None:
    local = ModelRegistry.of(LocalBackend(runtime))
    assert isinstance(local.backend, LocalRegistry) and local.backend.runtime is runtime
    backend = HttpBackend(live_url, tokens["Engineer"])
    remote = ModelRegistry.of(backend)
    assert isinstance(remote.backend, HttpRegistry)
    remote.register("churn", _run(runtime, None))
    assert [v.version for v in local.list_versions("churn")] == [1]
    backend.close()
    with pytest.raises(InvalidArgument, match="No registry"):
        ModelRegistry.of(object())
