"""The in-process event bus: bounded, deduplicating, ordered per person, isolated handlers.

The bus builds the ConsentGate itself: no caller can hand it a different one or none.
"""

from __future__ import annotations

import asyncio
import zlib
from collections import OrderedDict
from collections.abc import Generator
from typing import Any

import structlog

from bot.consent.gate import ConsentGate
from bot.events import Event
from bot.pipeline import Outcome, Pipeline
from bot.router import Router
from bot.services import Services

log = structlog.get_logger(__name__)

DEDUPE_WINDOW = 100_000  # event ids remembered; platforms retry within minutes, not days
MAX_BATCH = 500  # events a worker takes from its queue at once (messages are stored together)


class Delivery:
    """What `publish` returns: await it to know the event was fully handled."""

    def __init__(self, future: asyncio.Future[str], duplicate: bool = False) -> None:
        self._future = future
        self.duplicate = duplicate

    def __await__(self) -> Generator[Any, None, str]:
        """Resolves to the Outcome (or Refusal) value once the event was handled."""
        return asyncio.shield(self._future).__await__()


def build_pipeline(services: Services, router: Router, handler_timeout: float) -> Pipeline:
    """The gate and pipeline every bus backend runs: the bus builds the ConsentGate itself."""
    gate = ConsentGate(services.ledger, services.directory)
    return Pipeline(services, router, gate, handler_timeout)


def dedupe_key(event: Event) -> str:
    """What makes two events the same: the platform's event id within its tenant."""
    return f"{event.platform}|{event.tenant}|{event.id}"


def shard_of(event: Event, shards: int) -> int:
    """The shard of the event's author: one person's events stay in one ordered queue."""
    return zlib.crc32(f"{event.platform}|{event.tenant}|{event.actor.id}".encode()) % shards


class InProcessBus:
    def __init__(
        self,
        services: Services,
        router: Router,
        *,
        queue_size: int = 1000,
        workers: int = 4,
        handler_timeout: float = 30.0,
    ) -> None:
        self._pipeline = build_pipeline(services, router, handler_timeout)
        self._metrics = services.metrics
        # One queue per worker, chosen by the actor: a person's events stay in order
        # (a consent click is handled before the message they post right after it).
        per_queue = max(1, queue_size // workers)
        self._queues: list[asyncio.Queue[tuple[Event, asyncio.Future[str]]]] = [
            asyncio.Queue(maxsize=per_queue) for _ in range(workers)
        ]
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._tasks: list[asyncio.Task[None]] = []
        self._metrics.watch_queue(self.depth)

    def depth(self) -> int:
        """Events waiting in the queues (not yet taken by a worker)."""
        return sum(queue.qsize() for queue in self._queues)

    async def ready(self) -> bool:
        """Whether every worker is alive (for /readyz)."""
        return bool(self._tasks) and not any(task.done() for task in self._tasks)

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._work(queue), name=f"bus-worker-{i}")
            for i, queue in enumerate(self._queues)
        ]

    async def drain(self) -> None:
        """Wait until every event published so far has been handled."""
        for queue in self._queues:
            await queue.join()

    async def stop(self) -> None:
        """Finish what is queued, then stop the workers."""
        await self.drain()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._pipeline.close()

    async def publish(self, event: Event) -> Delivery:
        """Queue an event (waits while the queue is full); a repeated event id is dropped."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        key = dedupe_key(event)
        self._metrics.received(event.platform)
        if key in self._seen:
            future.set_result(Outcome.DUPLICATE)
            self._metrics.duplicate(event.platform)
            log.info("bus.duplicate", event_id=event.id, platform=event.platform)
            return Delivery(future, duplicate=True)
        self._seen[key] = None
        if len(self._seen) > DEDUPE_WINDOW:
            self._seen.popitem(last=False)
        await self._queues[shard_of(event, len(self._queues))].put((event, future))
        return Delivery(future)

    async def _work(self, queue: asyncio.Queue[tuple[Event, asyncio.Future[str]]]) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < MAX_BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            events = [event for event, _ in batch]
            outcomes: list[str] = [Outcome.FAILED] * len(batch)
            try:
                outcomes = await self._pipeline.process_batch(events)
            finally:  # even when cancelled: nobody waits forever, and join() returns
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if not future.done():
                        future.set_result(outcome)
                    queue.task_done()
                self._metrics.finished(events, outcomes)
