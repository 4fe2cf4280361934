"""Start Steward and peer servers on loopback for benchmarks, and wait until they answer."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

PEERS = Path(os.environ.get("STEWARD_PEERS", "/work/peers"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@contextmanager
def steward_server(home: Path, *, env: dict[str, str] | None = None) -> Iterator[tuple[str, str]]:
    """Yield (base URL, an Engineer's token) of a fresh ``steward server`` on SQLite."""
    port = free_port()
    full_env = {
        **os.environ,
        "STEWARD_HOME": str(home),
        "STEWARD_ADMIN_PASSWORD": "bench-admin-pw",
        "STEWARD_LOG_JSON": "true",
        **(env or {}),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "steward.cli", "server", "--port", str(port)],
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/healthz")
        token = httpx.post(url + "/api/v1/tokens", json={}, auth=("admin", "bench-admin-pw")).json()["token"]
        yield url, token
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def mlflow_server(home: Path) -> Iterator[str]:
    """Yield the URL of ``mlflow server`` on SQLite from the peer venv (../shared/peerbench)."""
    exe = PEERS / "mlflow" / "bin" / "mlflow"
    if not exe.exists():
        raise FileNotFoundError(
            f"no MLflow peer at {exe}: python3 -m venv {PEERS}/mlflow && {PEERS}/mlflow/bin/pip install mlflow==3.17.2"
        )
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    proc = subprocess.Popen(
        [
            str(exe),
            "server",
            "--backend-store-uri",
            f"sqlite:///{home}/mlflow.db",
            "--artifacts-destination",
            str(home / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/health", timeout=120)
        yield url
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
