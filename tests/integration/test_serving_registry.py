"""Serving a registered, promoted version: resolved once through the registry, its folder
materialised from the artifact store and loaded with the model format's loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from tests.support.serving import FEATURES, records, register_adult

from steward.core.errors import NotFound
from steward.runtime import Runtime
from steward.serving.loader import RegistryResolver
from steward.serving.models import parse_deployment
from steward.serving.plan import LogPlan, build_server, resolve_plan


def test_alias_is_resolved_once_and_served(runtime: Runtime, tmp_path: Path) -> None:
    model, df = register_adult(runtime)
    resolver = RegistryResolver(runtime.uow, runtime.blobs, tmp_path / "cache")
    plan = resolve_plan([parse_deployment("adult@production=income")], resolver, LogPlan(str(tmp_path / "log")))
    (dep,) = plan.deployments
    assert (dep.name, dep.model.name, dep.model.version) == ("income", "adult", "1")
    assert sorted(p.name for p in Path(dep.model.path).iterdir()) == [
        "model.joblib",
        "requirements.txt",
        "signature.json",
    ]
    with TestClient(build_server(plan)) as client:
        body = client.post("/v1/deployments/income/predict", json=records(df, 10)).json()
        listing = client.get("/v1/deployments/income").json()
    np.testing.assert_allclose(body["probabilities"], model.predict_proba(df[FEATURES].head(10)), rtol=1e-12)
    assert listing["variants"][0]["ref"] == "adult@production"
    # A second resolve reuses the materialised folder.
    again = resolve_plan([parse_deployment("adult/1")], resolver, None)
    assert again.deployments[0].model.path == dep.model.path


def test_unknown_alias_or_version_fails_at_start_up(runtime: Runtime, tmp_path: Path) -> None:
    register_adult(runtime, promote=False)
    resolver = RegistryResolver(runtime.uow, runtime.blobs, tmp_path / "cache")
    for ref, words in (
        ("adult@production", "no alias 'production'"),
        ("adult/7", "version 7"),
        ("nobody/1", "'nobody' not found"),
    ):
        with pytest.raises(NotFound, match=words):
            resolve_plan([parse_deployment(ref)], resolver, None)
