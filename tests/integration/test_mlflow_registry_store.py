"""Registry services on SQLite and PostgreSQL: version numbering, aliases and their history,
stages, search, logged models."""

from __future__ import annotations

import time

import pytest

from steward.core.errors import AlreadyExists, InvalidArgument, NotFound
from steward.registry import logged_models, service
from steward.registry.models import DELETED_STAGE
from steward.runtime import Runtime
from steward.tracking import service as tracking


def _model(rt: Runtime, name: str = "churn", versions: int = 1) -> None:
    with rt.uow() as uow:
        service.create_model(uow, name, description="d", tags={"team": "risk"})
        for i in range(versions):
            service.create_version(uow, name, source=f"s3://bucket/{i}", user_id="ann")
        uow.commit()


def test_versions_count_up_per_model_and_a_deleted_number_is_never_reused(store_runtime: Runtime) -> None:
    _model(store_runtime, "a", versions=3)
    _model(store_runtime, "b", versions=1)
    with store_runtime.uow() as uow:
        service.delete_version(uow, "a", 3)
        v = service.create_version(uow, "a", source="s3://bucket/new")
        uow.commit()
    assert v.version == 4
    with store_runtime.uow() as uow:
        assert [x.version for x in service.search_versions(uow, filter_string="name = 'a'").items] == [4, 2, 1]
        assert service.get_version(uow, "b", 1).version == 1
        with pytest.raises(NotFound):
            service.get_version(uow, "a", 3)


def test_every_alias_move_is_recorded_and_can_be_asked_about_any_moment(store_runtime: Runtime) -> None:
    _model(store_runtime, versions=3)
    moments = []
    for version, actor in [(1, "ann"), (2, "bob"), (2, "bob"), (3, "cy")]:
        with store_runtime.uow() as uow:
            service.set_alias(uow, "churn", "champion", version, actor=actor, reason=f"promote {version}")
            uow.commit()
        moments.append(int(time.time() * 1000))
        time.sleep(0.005)
    with store_runtime.uow() as uow:
        service.delete_alias(uow, "churn", "champion", actor="dee", reason="incident")
        uow.commit()
    with store_runtime.uow() as uow:
        history = service.alias_history(uow, "churn", "champion")
        assert [(e.from_version, e.to_version, e.actor) for e in history] == [
            (None, 1, "ann"),
            (1, 2, "bob"),
            (2, 3, "cy"),
            (3, None, "dee"),
        ]
        assert history[-1].reason == "incident"
        assert service.alias_at(uow, "churn", "champion", moments[0]) == 1
        assert service.alias_at(uow, "churn", "champion", moments[2]) == 2
        assert service.alias_at(uow, "churn", "champion", moments[3]) == 3
        assert service.alias_at(uow, "churn", "champion", history[0].at - 1) is None
        assert service.alias_at(uow, "churn", "champion", history[-1].at) is None
        with pytest.raises(NotFound) as info:
            service.version_by_alias(uow, "churn", "champion")
        assert info.value.kind == "alias"


def test_deleting_a_version_removes_its_aliases_and_says_so(store_runtime: Runtime) -> None:
    _model(store_runtime, versions=2)
    with store_runtime.uow() as uow:
        service.set_alias(uow, "churn", "champion", 2, actor="ann")
        service.set_alias(uow, "churn", "challenger", 1, actor="ann")
        uow.commit()
    with store_runtime.uow() as uow:
        service.delete_version(uow, "churn", 2, actor="bob")
        uow.commit()
    with store_runtime.uow() as uow:
        assert service.get_model(uow, "churn").aliases == {"challenger": 1}
        last = service.alias_history(uow, "churn", "champion")[-1]
        assert (last.from_version, last.to_version, last.actor) == (2, None, "bob")
        assert "deleted" in last.reason
        assert service.version_by_alias(uow, "churn", "latest").version == 1


def test_alias_names_follow_mlflows_rules(store_runtime: Runtime) -> None:
    _model(store_runtime)
    with store_runtime.uow() as uow:
        for bad in ["latest", "LATEST", "v1", "V12", "has space", "", "a/b"]:
            with pytest.raises(InvalidArgument):
                service.set_alias(uow, "churn", bad, 1)
        with pytest.raises(NotFound):
            service.set_alias(uow, "churn", "ok", 9)
        with pytest.raises(InvalidArgument):
            service.set_alias(uow, "churn", "ok", "one")


def test_rename_keeps_versions_aliases_and_history(store_runtime: Runtime) -> None:
    _model(store_runtime, versions=1)
    _model(store_runtime, "other")
    with store_runtime.uow() as uow:
        service.set_alias(uow, "churn", "prod", 1, actor="ann")
        uow.commit()
    with store_runtime.uow() as uow:
        with pytest.raises(AlreadyExists):
            service.rename_model(uow, "churn", "other")
        service.rename_model(uow, "churn", "churn-v2")
        uow.commit()
    with store_runtime.uow() as uow:
        assert service.version_by_alias(uow, "churn-v2", "prod").model_name == "churn-v2"
        assert len(service.alias_history(uow, "churn-v2", "prod")) == 1
        with pytest.raises(NotFound):
            service.get_model(uow, "churn")


def test_stages_and_latest_versions(store_runtime: Runtime) -> None:
    _model(store_runtime, versions=3)
    with store_runtime.uow() as uow:
        service.transition_stage(uow, "churn", 1, "production")
        service.transition_stage(uow, "churn", 2, "Production", archive_existing=True)
        uow.commit()
    with store_runtime.uow() as uow:
        latest = {v.stage: v.version for v in service.latest_versions(uow, "churn")}
        assert latest == {"None": 3, "Production": 2, "Archived": 1}
        assert [v.version for v in service.latest_versions(uow, "churn", ["Production"])] == [2]
        with pytest.raises(InvalidArgument):
            service.transition_stage(uow, "churn", 1, "Prod")


def test_model_search_with_the_prompt_filter_names_and_tags(store_runtime: Runtime) -> None:
    for name in ["alpha", "beta", "Gamma"]:
        _model(store_runtime, name)
    with store_runtime.uow() as uow:
        service.create_model(uow, "a-prompt", tags={"mlflow.prompt.is_prompt": "true"})
        service.set_model_tag(uow, "beta", "team", "growth")
        uow.commit()
    with store_runtime.uow() as uow:

        def names(f: str | None, **kw: object) -> list[str]:
            return [m.name for m in service.search_models(uow, filter_string=f, **kw).items]  # type: ignore[arg-type]

        assert names("tag.`mlflow.prompt.is_prompt` != 'true'") == ["Gamma", "alpha", "beta"]
        assert names("tags.`mlflow.prompt.is_prompt` = 'true'") == ["a-prompt"]
        assert names("tags.`mlflow.prompt.is_prompt` = 'false'") == ["Gamma", "alpha", "beta"]
        assert names("name LIKE '%a'") == ["Gamma", "alpha", "beta"]
        assert names("name LIKE 'a%'") == ["a-prompt", "alpha"]
        assert names("name ILIKE 'g%'") == ["Gamma"]
        assert names("tags.team = 'growth'") == ["beta"]
        assert names("name IN ('alpha', 'beta')") == ["alpha", "beta"]
        assert names(None, order_by=["name DESC"], max_results=2) == ["beta", "alpha"]
        page = service.search_models(uow, max_results=3)
        rest = service.search_models(uow, max_results=3, page_token=page.next_page_token)
        assert [m.name for m in page.items + rest.items] == ["Gamma", "a-prompt", "alpha", "beta"]
        assert rest.next_page_token is None
        with pytest.raises(InvalidArgument):
            names("metrics.x > 1")


def test_logged_model_becomes_a_version_with_run_lineage(store_runtime: Runtime) -> None:
    with store_runtime.uow() as uow:
        exp = tracking.create_experiment(uow, "exp")
        run = tracking.create_run(uow, exp.id, name="train")
        logged = logged_models.create_logged_model(uow, exp.id, name="model", source_run_id=run.id, params={"a": "1"})
        uow.commit()
    assert logged.artifact_location == f"mlflow-artifacts:/{exp.id}/models/{logged.id}/artifacts"
    with store_runtime.uow() as uow:
        logged_models.finalize_logged_model(uow, logged.id, "LOGGED_MODEL_READY")
        service.create_model(uow, "m")
        v = service.create_version(uow, "m", source=f"models:/{logged.id}")
        uow.commit()
    assert (v.run_id, v.logged_model_id) == (run.id, logged.id)
    with store_runtime.uow() as uow:
        assert service.download_uri(uow, "m", 1) == logged.artifact_location
        assert [x.version for x in service.versions_of_run(uow, run.id)] == [1]
        assert [x.version for x in service.search_versions(uow, filter_string=f"run_id = '{run.id}'").items] == [1]
        found = logged_models.search_logged_models(uow, [exp.id], filter_string="params.a = '1' and name = 'model'")
        assert [m.id for m in found.items] == [logged.id]
        assert logged_models.get_logged_model(uow, logged.id).status == "LOGGED_MODEL_READY"
        with pytest.raises(InvalidArgument):
            logged_models.finalize_logged_model(uow, logged.id, "DONE")


def test_deleting_a_model_takes_everything_with_it(store_runtime: Runtime) -> None:
    _model(store_runtime, versions=2)
    with store_runtime.uow() as uow:
        service.set_alias(uow, "churn", "prod", 1)
        service.set_version_tag(uow, "churn", 1, "k", "v")
        service.delete_model(uow, "churn")
        uow.commit()
    with store_runtime.uow() as uow:
        with pytest.raises(NotFound):
            service.get_model(uow, "churn")
        service.create_model(uow, "churn")
        assert service.create_version(uow, "churn", source="x").version == 1
        assert service.alias_history(uow, "churn", "prod") == []
        assert DELETED_STAGE not in {v.stage for v in service.search_versions(uow).items}
