"""Real models for the serving tests: scikit-learn Pipelines trained on a sample of the Adult
census data (UCI's training file, read by the pipelines' package source), saved as Steward model
folders."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from steward.pipelines.sources import load_adult

NUMERIC = ["age", "education-num", "capital_gain", "capital_loss", "hours_per_week"]
CATEGORICAL = ["workclass", "marital_status", "occupation", "sex"]
FEATURES = NUMERIC + CATEGORICAL


@functools.cache
def adult(n: int = 3000) -> pd.DataFrame:
    df = load_adult(("train",)).dropna().sample(n=n, random_state=7).reset_index(drop=True)
    df["label"] = (df["income_per_year"] == ">50K").astype(int)
    for c in CATEGORICAL:
        df[c] = df[c].astype(object)
    return df


def adult_signature(df: pd.DataFrame) -> dict[str, Any]:
    inputs = [{"name": c, "type": "long", "nullable": False, "categories": None} for c in NUMERIC]
    inputs += [
        {"name": c, "type": "string", "nullable": False, "categories": sorted(df[c].unique().tolist())}
        for c in CATEGORICAL
    ]
    return {"inputs": inputs, "task": "classification", "classes": [0, 1]}


@functools.cache
def train_adult(n: int = 3000) -> tuple[Any, dict[str, Any], pd.DataFrame]:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    df = adult(n)
    pre = ColumnTransformer(
        [("num", StandardScaler(), NUMERIC), ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)]
    )
    model = Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=500))])
    model.fit(df[FEATURES], df["label"])
    return model, adult_signature(df), df


def numeric_model(n_features: int = 20, n_estimators: int = 10) -> tuple[Any, dict[str, Any], np.ndarray]:
    """A GradientBoostingClassifier fitted on a float matrix (no feature names)."""
    from sklearn.ensemble import GradientBoostingClassifier

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, n_features))
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(int)
    model = GradientBoostingClassifier(n_estimators=n_estimators, random_state=0).fit(x, y)
    sig = {
        "inputs": [{"name": f"f{i}", "type": "double", "nullable": False} for i in range(n_features)],
        "task": "classification",
        "classes": [0, 1],
    }
    return model, sig, x


def save_folder(path: Path, model: Any, signature: dict[str, Any]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, path / "model.joblib")
    (path / "signature.json").write_text(json.dumps(signature))
    return path


def folder_loader(path: str) -> Any:
    """model.joblib + signature.json, read plainly (a stand-in for the model format's loader)."""
    from steward.serving.loader import LoadedModel

    p = Path(path)
    return LoadedModel(joblib.load(p / "model.joblib"), json.loads((p / "signature.json").read_text()))


def records(df: pd.DataFrame, n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = df[FEATURES].head(n).to_dict(orient="records")
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in out]


def format_signature(df: pd.DataFrame) -> Any:
    """The model format's own signature of the Adult features."""
    from steward.pipelines import model_format

    types = {**dict.fromkeys(NUMERIC, "numeric"), **dict.fromkeys(CATEGORICAL, "categorical")}
    return model_format.infer_signature(df[FEATURES], types, task="classification", classes=[0, 1])


def register_adult(runtime: Any, name: str = "adult", *, promote: bool = True) -> tuple[Any, pd.DataFrame]:
    """Train, log the model folder to a run, register it, and promote it to ``production``."""
    from steward.pipelines import model_format
    from steward.registry import promotion
    from steward.registry import service as registry
    from steward.tracking import artifacts
    from steward.tracking import service as tracking

    model, _sig, df = train_adult()
    files = model_format.model_files(model, format_signature(df))
    with runtime.uow() as uow:
        exp = tracking.get_or_create_experiment(uow, "serving")
        run = tracking.create_run(uow, exp.id, name="train", tags={"steward.gates": "passed"})
        for fname, data in files.items():
            artifacts.log_artifact(uow, runtime.blobs, run.id, f"model/{fname}", data)
        try:
            registry.get_model(uow, name)
        except LookupError:
            registry.create_model(uow, name)
        version = registry.create_version(uow, name, source=f"runs:/{run.id}/model", run_id=run.id)
        if promote:
            promotion.promote(uow, name, version.version, actor="test", reason="e2e").raise_if_blocked()
        uow.commit()
    return model, df
