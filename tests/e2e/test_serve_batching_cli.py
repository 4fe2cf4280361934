"""``steward serve --batching DEP=SIZE/WAIT_MS`` micro-batches that deployment only: concurrent
one-row requests to it are coalesced into fewer model calls, while a deployment served without
it (here ``--max-batch-size 1``) calls its model once per request. Bad values are one line."""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.cli import cli_env, command, steward, wait_ready
from tests.support.net import free_port
from tests.support.serving import records, register_adult

from steward.core.config import Settings
from steward.runtime import Runtime

pytestmark = pytest.mark.slow
REQUESTS = 24


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    home = tmp_path_factory.mktemp("home")
    rt = Runtime.from_settings(Settings(home=home, sqlite_synchronous="NORMAL"))
    _, df = register_adult(rt)
    rt.close()
    return home, df


@pytest.fixture(scope="module")
def url(home: tuple[Path, Any]) -> Iterator[str]:
    port = free_port()
    args = ("adult@production=batched", "adult@production=single", "--max-batch-size", "1", "--no-prediction-log")
    proc = subprocess.Popen(
        command("serve", *args, "--batching", "batched=64/200", "--port", str(port)),
        env=cli_env(home[0]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, proc)
    try:
        yield url
    finally:
        proc.kill()
        proc.communicate()


async def _burst(url: str, deployment: str, rows: list[dict[str, Any]]) -> list[int]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        replies = await asyncio.gather(*(http.post(f"/v1/deployments/{deployment}/predict", json=[r]) for r in rows))
    return [r.status_code for r in replies]


def _model_calls(metrics: str, deployment: str) -> tuple[float, float, float]:
    """(model calls, rows, calls of exactly one row) from the batch-rows histogram."""

    def value(series: str, extra: str = "") -> float:
        pattern = rf'^steward_serving_batch_rows_{series}\{{deployment="{deployment}"{extra}[^}}]*\}} (\S+)$'
        found = re.search(pattern, metrics, re.M)
        assert found, f"no {series} of {deployment} in /metrics"
        return float(found.group(1))

    return value("count"), value("sum"), value("bucket", r'.*le="1\.0"')


def test_batching_coalesces_concurrent_requests_for_its_deployment_only(url: str, home: tuple[Path, Any]) -> None:
    rows = records(home[1], REQUESTS)
    for deployment in ("batched", "single"):
        assert asyncio.run(_burst(url, deployment, rows)) == [200] * REQUESTS
    metrics = httpx.get(f"{url}/metrics").text
    calls, total, ones = _model_calls(metrics, "batched")
    assert total == REQUESTS and calls < REQUESTS / 2, f"{calls} model calls for {REQUESTS} concurrent requests"
    assert ones < calls or calls == 1  # some call carried more than one row
    calls, total, ones = _model_calls(metrics, "single")
    assert (calls, total, ones) == (REQUESTS, REQUESTS, REQUESTS)


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("batched=lots", "'batched=lots'"),
        ("batched", "'batched'"),
        ("batched=8/soon", "'batched=8/soon'"),
        ("batched=0", "max_batch_size"),
        ("batched=8/-5", "max_wait_ms"),
        ("elsewhere=8", "'elsewhere'"),
    ],
)
def test_a_bad_batching_value_is_one_readable_line(home: tuple[Path, Any], value: str, names: str) -> None:
    done = steward(home[0], "serve", "adult@production=batched", "--batching", value, "--port", str(free_port()))
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and names in lines[0], done.stderr
    assert "Traceback" not in done.stderr
