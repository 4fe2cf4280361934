"""What an MLflow user logs shows up in Steward's UI, and the links the mlflow client prints
("View run at http://host/#/experiments/1/runs/abc", MLflow's single-page UI routes) open the
matching Steward pages, through the login form when the browser is not signed in yet."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Page, expect

mlflow = pytest.importorskip("mlflow")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:.*Hint. Inferred schema contains integer column:UserWarning"),
    pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:mlflow.*"),
    pytest.mark.filterwarnings("ignore:.*pkg_resources.*:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def test_an_mlflow_run_and_model_open_from_the_links_the_client_prints(
    mlflow_env: object, live_url: str, page: Page
) -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = pd.DataFrame({"age": rng.normal(40, 10, 120), "income": rng.normal(50, 15, 120)})
    y = (x.age + x.income / 2 > 65).astype(int)
    mlflow.set_experiment("web-churn")
    with mlflow.start_run(run_name="logged-by-mlflow") as run:
        mlflow.log_params({"C": 0.5, "solver": "lbfgs"})
        for step, loss in enumerate([0.71, 0.42, 0.3125]):
            mlflow.log_metric("loss", loss, step=step)
        mlflow.log_metric("nan_metric", math.nan)
        model = LogisticRegression(C=0.5).fit(x, y)
        info = mlflow.sklearn.log_model(model, name="model")
    version = mlflow.register_model(info.model_uri, "web-churn-model")
    base, run_id, experiment_id = live_url, run.info.run_id, run.info.experiment_id

    # The run link, opened by a browser that is not signed in: login first, then the run page.
    page.goto(f"{base}/#/experiments/{experiment_id}/runs/{run_id}")
    expect(page).to_have_url(f"{base}/login?next=%2Fexperiments#/experiments/{experiment_id}/runs/{run_id}")
    page.get_by_label("User name").fill("engineer")
    page.get_by_label("Password").fill("engineer-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/runs/{run_id}")
    body = page.locator("main")
    expect(body).to_contain_text("logged-by-mlflow")
    expect(body).to_contain_text("solver")
    expect(body).to_contain_text("lbfgs")
    expect(body).to_contain_text("0.3125")  # the last value of the stepped metric

    # Signed in now: the experiment link and the model-version link redirect straight away.
    page.goto(f"{base}/#/experiments/{experiment_id}")
    expect(page).to_have_url(f"{base}/experiments/{experiment_id}")
    expect(page.locator("main")).to_contain_text("logged-by-mlflow")
    page.goto(f"{base}/#/models/web-churn-model/versions/{version.version}")
    expect(page).to_have_url(f"{base}/models/web-churn-model?version={version.version}")
    expect(page.locator("main")).to_contain_text("web-churn-model")
    expect(page.locator("main")).to_contain_text(run_id[:8])  # the version's lineage back to the MLflow run
