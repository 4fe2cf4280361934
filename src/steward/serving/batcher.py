"""Micro-batching: concurrent requests to one deployment coalesced into one ``predict`` call.

One asyncio worker task per model version takes every request that queued up while the model
was busy (up to ``max_batch_size`` rows), optionally lingers ``max_wait_ms`` for more, and runs
``predict`` in its own thread so the event loop keeps accepting and parsing requests meanwhile.
Under load, batches therefore fill by themselves; a lone request is never held back unless
``max_wait_ms`` asks for it.

When a coalesced batch fails, each request in it is retried alone, so one request that makes
the model raise fails only itself.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from steward.serving.inputs import FeatureBatch
from steward.serving.models import Batching
from steward.serving.predictor import Prediction

PredictFn = Callable[[FeatureBatch], Prediction]
BatchHook = Callable[[int, int], None]


@dataclass
class _Item:
    batch: FeatureBatch
    future: asyncio.Future[Prediction]


class MicroBatcher:
    """Coalesces ``await batcher.predict(batch)`` calls into batched ``predict_fn`` calls.

    ``on_batch(requests, rows)`` is called once per model call (for metrics).
    """

    def __init__(
        self,
        predict_fn: PredictFn,
        batching: Batching,
        *,
        name: str = "model",
        on_batch: BatchHook | None = None,
    ) -> None:
        self.predict_fn = predict_fn
        self.batching = batching
        self.name = name
        self.on_batch = on_batch
        self._items: deque[_Item] = deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._busy = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the worker on the running event loop."""
        if self.running:
            return
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(
            1,
            thread_name_prefix=f"predict-{self.name}",
            initializer=_limit_native_threads,
            initargs=(self.batching.threads,),
        )
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"batcher-{self.name}")

    async def predict(self, batch: FeatureBatch) -> Prediction:
        if self._wake is None:
            raise RuntimeError(f"The micro-batcher of {self.name!r} is not started.")
        future: asyncio.Future[Prediction] = asyncio.get_running_loop().create_future()
        self._items.append(_Item(batch, future))
        self._wake.set()
        return await future

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the queued requests, then stop the worker and its thread."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (self._items or self._busy) and self.running and loop.time() < deadline:
            await asyncio.sleep(0.005)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for item in self._items:
            if not item.future.done():
                item.future.set_exception(RuntimeError("The model server is shutting down."))
        self._items.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self._task = self._wake = self._executor = None

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            if not self._items:
                self._wake.clear()
                await self._wake.wait()
                continue
            items = await self._collect()
            self._busy = True
            try:
                await self._process(items)
            finally:
                self._busy = False

    async def _collect(self) -> list[_Item]:
        assert self._wake is not None
        first = self._items.popleft()
        items, rows = [first], first.batch.n
        limit, wait = self.batching.max_batch_size, self.batching.max_wait_ms / 1000
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while rows < limit:
            if self._items:
                if rows + self._items[0].batch.n > limit:
                    break
                item = self._items.popleft()
                items.append(item)
                rows += item.batch.n
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), remaining)
            except TimeoutError:
                break
        return items

    async def _process(self, items: list[_Item]) -> None:
        items = [i for i in items if not i.future.done()]  # callers that gave up
        if not items:
            return
        loop = asyncio.get_running_loop()
        batch = FeatureBatch.concat([i.batch for i in items])
        if self.on_batch is not None:
            self.on_batch(len(items), batch.n)
        try:
            out = await loop.run_in_executor(self._executor, self.predict_fn, batch)
        except Exception as exc:  # the model is user code: any error goes back to its callers
            if len(items) == 1:
                _settle(items[0].future, exc=exc)
                return
            for item in items:
                try:
                    _settle(item.future, await loop.run_in_executor(self._executor, self.predict_fn, item.batch))
                except Exception as one:  # as above, now for this request alone
                    _settle(item.future, exc=one)
            return
        start = 0
        for item in items:
            stop = start + item.batch.n
            _settle(item.future, out.slice(start, stop))
            start = stop


def _settle(
    future: asyncio.Future[Prediction], result: Prediction | None = None, exc: BaseException | None = None
) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        assert result is not None
        future.set_result(result)


def _limit_native_threads(n: int) -> None:
    """Runs in the predict thread itself: OpenMP's thread count is per calling thread."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    threadpool_limits(limits=n)
