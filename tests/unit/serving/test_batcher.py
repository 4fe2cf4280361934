"""The micro-batcher coalesces concurrent requests into one model call."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from steward.serving.batcher import MicroBatcher
from steward.serving.inputs import FeatureBatch
from steward.serving.models import Batching
from steward.serving.predictor import Prediction


class Recorder:
    """A model that takes ``delay`` seconds per call and returns the row's first feature."""

    def __init__(self, delay: float = 0.0, fail_on: float | None = None) -> None:
        self.delay = delay
        self.fail_on = fail_on
        self.calls: list[int] = []
        self.threads: set[str] = set()

    def __call__(self, batch: FeatureBatch) -> Prediction:
        assert batch.matrix is not None
        self.calls.append(batch.n)
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)
        if self.fail_on is not None and (batch.matrix[:, 0] == self.fail_on).any():
            raise ValueError("bad row")
        return Prediction(batch.matrix[:, 0].copy())


def rows(*values: float) -> FeatureBatch:
    return FeatureBatch(len(values), matrix=np.array([[v] for v in values]))


async def run(batcher: MicroBatcher, batches: list[FeatureBatch]) -> list[object]:
    batcher.start()
    try:
        return await asyncio.gather(*(batcher.predict(b) for b in batches), return_exceptions=True)
    finally:
        await batcher.stop()


def test_concurrent_requests_are_coalesced_while_the_model_is_busy() -> None:
    model = Recorder(delay=0.02)
    out = asyncio.run(run(MicroBatcher(model, Batching(64)), [rows(float(i)) for i in range(20)]))
    assert [p.predictions.tolist() for p in out] == [[float(i)] for i in range(20)]  # type: ignore[attr-defined]
    assert sum(model.calls) == 20
    assert len(model.calls) <= 3  # the first call alone, then everything that queued meanwhile
    assert all(name.startswith("predict-") for name in model.threads)  # never on the event loop


def test_max_batch_size_caps_rows_per_call() -> None:
    model = Recorder(delay=0.01)
    asyncio.run(run(MicroBatcher(model, Batching(max_batch_size=4)), [rows(1.0, 2.0) for _ in range(10)]))
    assert sum(model.calls) == 20 and max(model.calls) <= 4


def test_max_wait_lets_a_lone_request_wait_for_company() -> None:
    model = Recorder()

    async def staggered() -> None:
        batcher = MicroBatcher(model, Batching(max_batch_size=8, max_wait_ms=200))
        batcher.start()
        first = asyncio.ensure_future(batcher.predict(rows(1.0)))
        await asyncio.sleep(0.02)
        second = asyncio.ensure_future(batcher.predict(rows(2.0)))
        await asyncio.gather(first, second)
        await batcher.stop()

    asyncio.run(staggered())
    assert model.calls == [2]


def test_no_wait_by_default_for_a_lone_request() -> None:
    model = Recorder()

    async def one() -> float:
        batcher = MicroBatcher(model, Batching())
        batcher.start()
        started = time.perf_counter()
        await batcher.predict(rows(1.0))
        elapsed = time.perf_counter() - started
        await batcher.stop()
        return elapsed

    assert asyncio.run(one()) < 0.5
    assert model.calls == [1]


def test_a_failing_request_fails_alone_when_its_batch_is_retried() -> None:
    model = Recorder(delay=0.01, fail_on=13.0)
    out = asyncio.run(run(MicroBatcher(model, Batching(64)), [rows(float(i)) for i in range(10, 16)]))
    failed = [i for i, o in enumerate(out) if isinstance(o, Exception)]
    assert failed == [3]
    assert isinstance(out[3], ValueError)
    assert [o.predictions.tolist() for o in out if not isinstance(o, BaseException)] == [  # type: ignore[attr-defined]
        [10.0],
        [11.0],
        [12.0],
        [14.0],
        [15.0],
    ]


def test_predict_before_start_is_refused() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        asyncio.run(MicroBatcher(Recorder(), Batching()).predict(rows(1.0)))


def test_batching_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="max_batch_size"):
        Batching(max_batch_size=0)
    with pytest.raises(ValueError, match="max_wait_ms"):
        Batching(max_wait_ms=-1)
    with pytest.raises(ValueError, match="threads"):
        Batching(threads=0)


@pytest.mark.parametrize("threads", [1, 2])
def test_the_model_call_runs_with_the_deployments_native_thread_count(threads: int) -> None:
    import sklearn.ensemble  # noqa: F401  loads scikit-learn's OpenMP runtime
    from threadpoolctl import threadpool_info  # type: ignore[import-untyped]

    seen: list[list[int]] = []

    def model(batch: FeatureBatch) -> Prediction:
        seen.append([int(lib["num_threads"]) for lib in threadpool_info() if lib["user_api"] == "openmp"])
        assert batch.matrix is not None
        return Prediction(batch.matrix[:, 0].copy())

    asyncio.run(run(MicroBatcher(model, Batching(threads=threads)), [rows(1.0)]))
    assert seen and seen[0] and set(seen[0]) == {threads}
