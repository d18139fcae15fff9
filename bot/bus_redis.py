"""The Redis Streams bus: the in-process bus's interface, shared by several worker processes.

- One stream per shard (`PREFIX:stream:N`), chosen by the author like the in-process bus,
  trimmed with `MAXLEN ~`; one consumer group (`workers`) per stream.
- One process at a time reads a shard: it holds the shard's lease (`PREFIX:lease:N`, renewed
  by a heartbeat), so one person's events are handled in order even with several processes.
  Other processes stand by and take the shard over when the lease lapses.
- Delivery is at least once; `SET PREFIX:seen:platform|tenant|id <entry> NX EX` before
  processing makes it processed once (a redelivery of the same entry is processed again,
  a second entry with the same event id is a duplicate).
- Entries pending longer than `claim_idle` (a failed attempt, or a worker that died) are
  taken over with XAUTOCLAIM; after `max_deliveries` deliveries an entry goes to the
  dead-letter stream `PREFIX:dead` (ids and reason only: never the text) and is acked.
- The ConsentGate is built here too (bot.bus.build_pipeline), and checked when an entry is
  processed, not when it was published.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections import OrderedDict
from collections.abc import Generator
from typing import Any

import structlog
from redis import asyncio as aioredis
from redis.exceptions import ResponseError

from bot.bus import Delivery, build_pipeline, dedupe_key, shard_of
from bot.event_codec import UndecodableEvent, decode, encode
from bot.events import Event
from bot.logging import where
from bot.pipeline import Outcome
from bot.router import Router
from bot.services import Services

log = structlog.get_logger(__name__)

DEFAULT_PREFIX = "apprentice:bus"
GROUP = "workers"
FAILED = "failed"  # what a Delivery resolves to when the event could not be handled
DEDUPE_SECONDS = 24 * 3600  # platforms retry within minutes, not days
INBOX_SECONDS = 300  # how long outcomes wait in the inbox of a publisher that went away
MAX_WAITING = 100_000  # local deliveries remembered (events handled by other processes)
DEAD_MAXLEN = 10_000

# Take the lease when free, renew it when ours: 1 held, 0 someone else holds it.
_ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisDelivery(Delivery):
    """Resolves when a worker handled the event: directly when it ran in this process,
    through this process's inbox when another process ran it. Gives up after `timeout`."""

    def __init__(self, future: asyncio.Future[str], timeout: float) -> None:
        super().__init__(future)
        self._timeout = timeout

    def __await__(self) -> Generator[Any, None, str]:
        return asyncio.wait_for(asyncio.shield(self._future), self._timeout).__await__()


class RedisStreamsBus:
    def __init__(
        self,
        services: Services,
        router: Router,
        *,
        redis_url: str = "redis://127.0.0.1:6379/0",
        prefix: str | None = None,
        queue_size: int = 1000,
        workers: int = 4,
        handler_timeout: float = 30.0,
        max_deliveries: int = 5,
        claim_idle: float = 30.0,
        lease_seconds: float = 10.0,
        block_seconds: float = 0.5,
        batch: int = 100,
        result_timeout: float = 120.0,
    ) -> None:
        self._pipeline = build_pipeline(services, router, handler_timeout)
        # Any: redis-py's types can't tell decode_responses=True gives str, not bytes.
        self._redis: Any = aioredis.from_url(redis_url, decode_responses=True)
        self._prefix = prefix or DEFAULT_PREFIX
        # Every process must use the same number of shards (APPRENTICE_BUS_WORKERS).
        self._streams = [f"{self._prefix}:stream:{i}" for i in range(workers)]
        self._dead = f"{self._prefix}:dead"
        self._bound = max(1, queue_size // workers)  # unprocessed entries per stream
        self._maxlen = max(10 * self._bound, 10_000)  # a safety net: handled entries are deleted
        self._max_deliveries = max(1, max_deliveries)
        self._claim_idle_ms = max(1, int(claim_idle * 1000))
        self._lease_ms = max(100, int(lease_seconds * 1000))
        self._block_ms = max(1, int(block_seconds * 1000))
        self._batch = batch
        self._handler_timeout = handler_timeout
        self._result_timeout = result_timeout
        self._consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._release = self._redis.register_script(_RELEASE)
        self._waiting: OrderedDict[str, asyncio.Future[str]] = OrderedDict()
        self._held: set[int] = set()
        self._busy: set[int] = set()
        self._groups_ready = False
        self._listener: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def dead_letter_stream(self) -> str:
        return self._dead

    def stream_of(self, event: Event) -> str:
        return self._streams[shard_of(event, len(self._streams))]

    # -- the bus interface -------------------------------------------------------------

    async def start(self) -> None:
        self._stopping.clear()
        await self._ensure_groups()
        self._tasks = [
            asyncio.create_task(self._work(i), name=f"bus-redis-worker-{i}")
            for i in range(len(self._streams))
        ]
        self._tasks.append(asyncio.create_task(self._heartbeat(), name="bus-redis-leases"))

    async def drain(self) -> None:
        """Wait until every event in the streams (from any process) has been handled."""
        interval = 0.005
        while True:
            backlog = [await self._unprocessed(stream) for stream in self._streams]
            if not any(backlog):
                return
            await asyncio.sleep(interval)
            interval = min(interval * 2, 0.1)

    async def stop(self) -> None:
        """Wait for what this process published, finish the entry in hand, then stop.

        Entries still in the streams stay there for the next worker to take."""
        waiting = [future for future in self._waiting.values() if not future.done()]
        if waiting and (self._tasks or self._listener is not None):
            _, late = await asyncio.wait(waiting, timeout=self._handler_timeout + 5)
            if late:
                log.warning("bus.stopped_with_events_in_flight", events=len(late))
        self._stopping.set()
        workers, others = self._tasks[:-1], self._tasks[-1:]
        for shard, task in enumerate(workers):
            if shard not in self._busy:  # idle (in XREADGROUP BLOCK): nothing in hand
                task.cancel()
        if self._listener is not None:
            others.append(self._listener)
            self._listener = None
        self._tasks = workers + others
        for task in others:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=self._handler_timeout + 1)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        with contextlib.suppress(Exception):
            await self._let_go()
        await self._redis.aclose()

    async def publish(self, event: Event) -> Delivery:
        """Append the event to its author's stream; waits while that stream is over its bound."""
        await self._ensure_groups()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        token = uuid.uuid4().hex
        self._waiting[token] = future
        if len(self._waiting) > MAX_WAITING:
            self._waiting.popitem(last=False)
        stream = self.stream_of(event)
        fields = {"e": encode(event), "r": token, "o": self._consumer}
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xadd(stream, fields, maxlen=self._maxlen, approximate=True)
            pipe.xinfo_groups(stream)
            _, groups = await pipe.execute()
        backlog = self._backlog(groups)
        if backlog is None or backlog > self._bound:
            await self._wait_below_bound(stream)
        return RedisDelivery(future, self._result_timeout)

    # -- publishing side ---------------------------------------------------------------

    async def _ensure_groups(self) -> None:
        if self._listener is None and not self._stopping.is_set():
            self._listener = asyncio.create_task(self._listen(), name="bus-redis-inbox")
        if self._groups_ready:
            return
        for stream in self._streams:
            try:
                await self._redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        self._groups_ready = True

    @staticmethod
    def _backlog(groups: list[dict[str, Any]]) -> int | None:
        """Entries not yet acked (pending + not yet read); None when Redis can't tell."""
        for group in groups:
            if group.get("name") == GROUP:
                lag = group.get("lag")
                return None if lag is None else int(group.get("pending", 0)) + int(lag)
        return None

    async def _unprocessed(self, stream: str) -> int:
        groups = await self._redis.xinfo_groups(stream)
        backlog = self._backlog(groups)
        if backlog is not None:
            return backlog
        group = next((g for g in groups if g.get("name") == GROUP), None)
        if group is None:
            return 0
        # Lag unknown (entries deleted after the group's position): count what is left.
        unread = await self._redis.xrange(
            stream, min=f"({group['last-delivered-id']}", count=self._bound + 1
        )
        return int(group.get("pending", 0)) + len(unread)

    async def _wait_below_bound(self, stream: str) -> None:
        interval = 0.005
        while await self._unprocessed(stream) > self._bound:
            await asyncio.sleep(interval)
            interval = min(interval * 2, 0.1)

    def _inbox_of(self, consumer: str) -> str:
        return f"{self._prefix}:inbox:{consumer}"

    async def _listen(self) -> None:
        """Outcomes of this process's events that another process handled."""
        inbox = self._inbox_of(self._consumer)
        while not self._stopping.is_set():
            try:
                item = await self._redis.blpop([inbox], timeout=1)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("bus.redis_error", error=type(exc).__name__, where=where(exc))
                await self._pause(1.0)
                continue
            if item is not None:
                token, _, outcome = item[1].partition(" ")
                future = self._waiting.pop(token, None)
                if future is not None and not future.done():
                    future.set_result(outcome)

    # -- workers -----------------------------------------------------------------------

    async def _work(self, shard: int) -> None:
        loop = asyncio.get_running_loop()
        stream = self._streams[shard]
        lease = f"{self._prefix}:lease:{shard}"
        next_claim = 0.0
        while not self._stopping.is_set():
            try:
                if shard not in self._held:
                    if not await self._acquire(keys=[lease], args=[self._consumer, self._lease_ms]):
                        await self._pause(self._lease_ms / 3000)
                        continue
                    self._held.add(shard)
                    log.info("bus.lease_taken", shard=shard, consumer=self._consumer)
                    # Ours now: whatever is pending here was left by the previous holder.
                    await self._reclaim(shard, min_idle_ms=0)
                    next_claim = loop.time() + self._claim_idle_ms / 2000
                elif loop.time() >= next_claim:
                    await self._reclaim(shard, min_idle_ms=self._claim_idle_ms)
                    next_claim = loop.time() + self._claim_idle_ms / 2000
                reply = await self._redis.xreadgroup(
                    GROUP, self._consumer, {stream: ">"}, count=self._batch, block=self._block_ms
                )
                for _, entries in reply or []:
                    await self._handle(shard, [(eid, fields, 1) for eid, fields in entries])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away for a moment: log, back off, go on
                log.error(
                    "bus.redis_error", shard=shard, error=type(exc).__name__, where=where(exc)
                )
                await self._pause(1.0)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()

    async def _heartbeat(self) -> None:
        """Renew the leases this process holds; a lease another process took is let go."""
        loop = asyncio.get_running_loop()
        renewed = loop.time()
        while not self._stopping.is_set():
            await self._pause(self._lease_ms / 3000)
            try:
                for shard in list(self._held):
                    lease = f"{self._prefix}:lease:{shard}"
                    if not await self._acquire(keys=[lease], args=[self._consumer, self._lease_ms]):
                        self._held.discard(shard)
                        log.warning("bus.lease_lost", shard=shard, consumer=self._consumer)
                renewed = loop.time()
            except Exception as exc:
                log.error("bus.redis_error", error=type(exc).__name__, where=where(exc))
                if loop.time() - renewed > self._lease_ms / 1000:
                    self._held.clear()  # our leases have lapsed: stop reading until retaken

    async def _reclaim(self, shard: int, min_idle_ms: int) -> None:
        """Take over entries pending longer than min_idle_ms (failed, or their worker died)."""
        stream = self._streams[shard]
        start = "0-0"
        for _ in range(1000):  # XAUTOCLAIM walks the pending list in bounded steps
            start, claimed, deleted = await self._redis.xautoclaim(
                stream, GROUP, self._consumer, min_idle_ms, start_id=start, count=self._batch
            )
            if deleted:  # trimmed away while pending: nothing left to handle
                await self._redis.xack(stream, GROUP, *deleted)
            claimed = [(eid, fields) for eid, fields in claimed if fields is not None]
            if claimed:
                counts = await self._delivery_counts(stream, [eid for eid, _ in claimed])
                await self._handle(shard, [(eid, f, counts.get(eid, 1)) for eid, f in claimed])
            if start == "0-0" or self._stopping.is_set() or shard not in self._held:
                return

    async def _delivery_counts(self, stream: str, ids: list[str]) -> dict[str, int]:
        rows = await self._redis.xpending_range(
            stream, GROUP, min=ids[0], max=ids[-1], count=len(ids) + self._batch,
            consumername=self._consumer,
        )  # fmt: skip
        return {row["message_id"]: int(row["times_delivered"]) for row in rows}

    async def _handle(self, shard: int, entries: list[tuple[str, dict[str, str], int]]) -> None:
        stream = self._streams[shard]
        ready: list[tuple[str, dict[str, str], int, Event]] = []
        for entry_id, fields, deliveries in entries:
            try:
                event = decode(fields.get("e", ""))
            except UndecodableEvent:
                await self._dead_letter(stream, entry_id, fields, deliveries, "undecodable")
                continue
            if deliveries > self._max_deliveries:  # e.g. it crashed its worker each time
                await self._dead_letter(stream, entry_id, fields, deliveries, "deliveries", event)
                continue
            ready.append((entry_id, fields, deliveries, event))
        if not ready:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry_id, _, _, event in ready:
                pipe.set(self._seen_key(event), entry_id, nx=True, ex=DEDUPE_SECONDS, get=True)
            claims = await pipe.execute()
        for (entry_id, fields, deliveries, event), first in zip(ready, claims, strict=True):
            if self._stopping.is_set() or shard not in self._held:
                return  # left pending: the next holder of the shard takes them over
            if first is not None and first != entry_id:
                log.info("bus.duplicate", event_id=event.id, platform=event.platform)
                await self._finish(stream, entry_id, fields, Outcome.DUPLICATE)
                continue
            self._busy.add(shard)
            try:
                outcome = await self._pipeline.process(event)
            except Exception as exc:  # isolate: log without content; retried after claim_idle
                log.error(
                    "bus.event_failed",
                    event_id=event.id,
                    deliveries=deliveries,
                    error=type(exc).__name__,
                    where=where(exc),
                )
                if deliveries >= self._max_deliveries:
                    await self._dead_letter(
                        stream, entry_id, fields, deliveries, type(exc).__name__, event
                    )
                continue
            finally:
                self._busy.discard(shard)
            await self._finish(stream, entry_id, fields, outcome)

    def _seen_key(self, event: Event) -> str:
        return f"{self._prefix}:seen:{dedupe_key(event)}"

    async def _finish(
        self, stream: str, entry_id: str, fields: dict[str, str], outcome: str
    ) -> None:
        token, origin = fields.get("r"), fields.get("o")
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xack(stream, GROUP, entry_id)
            # The entry carries the message text, perhaps of someone who never agreed: once
            # handled it goes, rather than waiting in Redis until trimming reaches it.
            pipe.xdel(stream, entry_id)
            if token and origin and origin != self._consumer:  # published by another process
                pipe.rpush(self._inbox_of(origin), f"{token} {outcome}")
                pipe.expire(self._inbox_of(origin), INBOX_SECONDS)
            await pipe.execute()
        future = self._waiting.pop(token, None) if token else None
        if future is not None and not future.done():
            future.set_result(outcome)

    async def _dead_letter(
        self,
        stream: str,
        entry_id: str,
        fields: dict[str, str],
        deliveries: int,
        reason: str,
        event: Event | None = None,
    ) -> None:
        """Park an entry that keeps failing: its ids and why, never its text; then ack it."""
        record: dict[str, str | int] = {
            "stream": stream,
            "entry": entry_id,
            "deliveries": deliveries,
            "reason": reason,
        }
        if event is not None:
            record.update(
                event_id=event.id,
                platform=event.platform,
                tenant=event.tenant,
                kind=event.kind.value,
            )
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xadd(self._dead, record, maxlen=DEAD_MAXLEN, approximate=True)
            if event is not None:  # a later retry by the platform may try again
                pipe.delete(self._seen_key(event))
            await pipe.execute()
        log.error(
            "bus.dead_letter",
            stream=stream,
            entry=entry_id,
            event_id=event.id if event else None,
            deliveries=deliveries,
            reason=reason,
        )
        await self._finish(stream, entry_id, fields, FAILED)

    async def _let_go(self) -> None:
        """On stop: free our leases for another process; forget our consumer if it holds
        nothing (a consumer with pending entries stays, so they can be reclaimed)."""
        for shard in list(self._held):
            await self._release(keys=[f"{self._prefix}:lease:{shard}"], args=[self._consumer])
        self._held.clear()
        for stream in self._streams:
            pending = await self._redis.xpending_range(
                stream, GROUP, min="-", max="+", count=1, consumername=self._consumer
            )
            if not pending:
                await self._redis.xgroup_delconsumer(stream, GROUP, self._consumer)
