"""The Redis Streams bus: the in-process bus's interface, shared by several worker processes.

- One stream per shard (`PREFIX:stream:N`), chosen by the author like the in-process bus,
  trimmed with `MAXLEN ~`; one consumer group (`workers`) per stream.
- Redis holds ciphertext only (bot.bus_sealing): an entry is one AES-GCM-sealed field under
  the bus's own key, bound to its stream; dedupe keys are keyed hashes. Handled entries are
  acked and deleted at once.
- The shards are spread over the live worker processes (bot.bus_leases): each reads its fair
  share, one process per shard at a time under a lease renewed by a heartbeat, so one
  person's events are handled in order. When a worker dies its leases lapse and the others
  take its shards over; when one joins, the others hand some over.
- Entries are read, handled and acked in batches (XREADGROUP COUNT, one pipeline of XACK and
  XDEL per batch); concurrent publishes are written in one pipeline. `publish` returns once
  the entry is on the stream: what the platform was told is received survives a kill -9.
- Delivery is at least once. Publishing dedupes: one script sets `PREFIX:seen:<keyed hash
  of platform|tenant|id>` NX and appends the entry only when it was not set, so a platform's
  retry of an event gets `duplicate_event` at once and never reaches a worker. A redelivery
  of the same entry (its worker died before acking) is processed again: storing is
  idempotent on the message id.
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
from collections import Counter, OrderedDict, defaultdict
from typing import Any

import structlog
from redis import asyncio as aioredis
from redis.exceptions import ResponseError

from bot.bus import Delivery, build_pipeline, dedupe_key, shard_of
from bot.bus_leases import ShardLeases
from bot.bus_sealing import EntrySeal, UnsealableEntry, bus_key
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
WRITE_BATCH = 500  # entries per XADD pipeline
FLUSH_SECONDS = 0.2  # a long batch acks what it finished at least this often

# (entry id, publisher's token, publisher, outcome): what a handled entry leaves to ack.
Finished = tuple[str, str | None, str | None, str]
# What writing an entry gave: its id (None: a duplicate, not written) and its stream's backlog.
Written = tuple[str | None, int | None]


# Publish one entry unless its event was published before: dedupe and append in one step,
# so an entry is on the stream exactly when its event counts as seen.
_PUBLISH = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'd', ARGV[3])
end
return false
"""


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
        lease_seconds: float = 5.0,
        block_seconds: float = 0.5,
        batch: int = 500,
        result_timeout: float = 120.0,
        consume: bool = True,
    ) -> None:
        self._pipeline = build_pipeline(services, router, handler_timeout)
        self._seal = EntrySeal(bus_key(services.settings))
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
        self._poll = min(0.1, self._lease_ms / 3000)  # how often a free shard is tried
        self._block_ms = max(1, int(block_seconds * 1000))
        self._batch = max(1, batch)
        self._handler_timeout = handler_timeout
        self._result_timeout = result_timeout
        self._consume = consume
        self._consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._leases = ShardLeases(
            self._redis, self._prefix, len(self._streams), self._consumer, self._lease_ms
        )
        # Outcomes awaited, oldest first: token -> (future, when to give up on it).
        self._waiting: OrderedDict[str, tuple[asyncio.Future[str], float]] = OrderedDict()
        self._outgoing: list[tuple[str, str, str, asyncio.Future[Written]]] = []
        self._publish_script = self._redis.register_script(_PUBLISH)
        self._below_bound: dict[str, asyncio.Future[None]] = {}
        self._writer: asyncio.Task[None] | None = None
        self._held: set[int] = set()
        self._busy: set[int] = set()
        self._groups_ready = False
        self._groups_lock = asyncio.Lock()
        self._listener: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.stats: Counter[str] = Counter()  # counts only: processed, duplicates, …

    @property
    def dead_letter_stream(self) -> str:
        return self._dead

    @property
    def held(self) -> frozenset[int]:
        """The shards this process reads now."""
        return frozenset(self._held)

    def stream_of(self, event: Event) -> str:
        return self._streams[shard_of(event, len(self._streams))]

    # -- the bus interface -------------------------------------------------------------

    async def start(self) -> None:
        self._stopping.clear()
        await self._ensure_groups()
        if not self._consume:  # a gateway: publishes, runs no worker
            return
        await self._leases.announce()
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
        """Wait for what this process published, finish the batch in hand, then stop.

        Entries still in the streams stay there for the next worker to take."""
        waiting = [future for future, _ in self._waiting.values() if not future.done()]
        if waiting and self._tasks:
            _, late = await asyncio.wait(waiting, timeout=self._handler_timeout + 5)
            if late:
                log.warning("bus.stopped_with_events_in_flight", events=len(late))
        self._stopping.set()
        workers, others = self._tasks[:-1], self._tasks[-1:]
        for shard, task in enumerate(workers):
            if shard not in self._busy:  # idle (in XREADGROUP BLOCK): nothing in hand
                task.cancel()
        for extra in (self._listener, self._writer):
            if extra is not None:
                others.append(extra)
        self._listener = self._writer = None
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
        if self._consume:
            log.info("bus.stopped", consumer=self._consumer, **dict(self.stats))
        await self._redis.aclose()

    async def publish(self, event: Event) -> Delivery:
        """Seal the event onto its author's stream; returns once it is there (waits while
        that stream is over its bound)."""
        await self._ensure_groups()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        token = uuid.uuid4().hex
        stream = self.stream_of(event)
        payload = f"{token}\x00{self._consumer}\x00{encode(event)}".encode()
        written: asyncio.Future[Written] = loop.create_future()
        sealed = self._seal.seal(stream, payload)
        # Waiting before it is written: a worker may answer before XADD's reply is read.
        self._waiting[token] = (future, loop.time() + self._result_timeout)
        if len(self._waiting) > MAX_WAITING:
            self._waiting.popitem(last=False)
        self._outgoing.append((stream, self._seen_key(event), sealed, written))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="bus-redis-writer")
        try:
            entry_id, backlog = await written
        except BaseException:
            self._waiting.pop(token, None)
            raise
        if entry_id is None:  # published before (a platform's retry): handled once
            self._waiting.pop(token, None)
            log.info("bus.duplicate", event_id=event.id, platform=event.platform)
            future.set_result(Outcome.DUPLICATE)
            return Delivery(future, duplicate=True)
        if backlog is None or backlog > self._bound:
            await self._wait_below_bound(stream)
        return Delivery(future)

    # -- publishing side ---------------------------------------------------------------

    async def _write(self) -> None:
        """Write what concurrent publishers handed over, many entries per round trip."""
        while self._outgoing:
            batch, self._outgoing = self._outgoing[:WRITE_BATCH], self._outgoing[WRITE_BATCH:]
            streams = sorted({stream for stream, _, _, _ in batch})
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for stream, seen, sealed, _ in batch:
                        args: list[str | int] = [DEDUPE_SECONDS, self._maxlen, sealed]
                        await self._publish_script(keys=[seen, stream], args=args, client=pipe)
                    for stream in streams:
                        pipe.xinfo_groups(stream)
                    replies = await pipe.execute()
            except Exception as exc:  # each publisher gets the error: nothing is acked
                for _, _, _, written in batch:
                    if not written.done():
                        written.set_exception(exc)
                continue
            backlogs = dict(zip(streams, map(self._backlog, replies[len(batch) :]), strict=True))
            for (stream, _, _, written), entry_id in zip(batch, replies, strict=False):
                if not written.done():
                    written.set_result((entry_id or None, backlogs[stream]))

    async def _ensure_groups(self) -> None:
        if self._listener is None and not self._stopping.is_set():
            self._listener = asyncio.create_task(self._listen(), name="bus-redis-inbox")
        if self._groups_ready:
            return
        async with self._groups_lock:  # a burst of first publishes creates them once
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
        """Until the stream is back under its bound; one poller however many publishers wait."""
        poller = self._below_bound.get(stream)
        if poller is None or poller.done():
            poller = asyncio.ensure_future(self._poll_below_bound(stream))
            self._below_bound[stream] = poller
        await asyncio.shield(poller)

    async def _poll_below_bound(self, stream: str) -> None:
        interval = 0.002
        while await self._unprocessed(stream) > self._bound:
            await asyncio.sleep(interval)
            interval = min(interval * 2, 0.02)

    def _inbox_of(self, consumer: str) -> str:
        return f"{self._prefix}:inbox:{consumer}"

    async def _listen(self) -> None:
        """Outcomes of this process's events that another process handled."""
        inbox = self._inbox_of(self._consumer)
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            self._give_up_on_late(loop.time())
            try:
                item = await self._redis.blpop([inbox], timeout=1)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("bus.redis_error", error=type(exc).__name__, where=where(exc))
                await self._pause(1.0)
                continue
            if item is None:
                continue
            # Take whatever else is there in one go: outcomes arrive in batches.
            rest = await self._redis.lpop(inbox, 1000) or []
            for line in (item[1], *rest):
                token, _, outcome = line.partition(" ")
                self._resolve(token, outcome)

    def _resolve(self, token: str, outcome: str) -> None:
        waiting = self._waiting.pop(token, None)
        if waiting is not None and not waiting[0].done():
            waiting[0].set_result(outcome)

    def _give_up_on_late(self, now: float) -> None:
        """Outcomes that did not come within result_timeout: their awaiters get TimeoutError
        (the events are still on the stream; only the wait for their outcome ends)."""
        while self._waiting:
            token, (future, deadline) = next(iter(self._waiting.items()))
            if deadline > now and not future.done():
                return
            del self._waiting[token]
            if not future.done():
                future.set_exception(TimeoutError("no outcome from the workers in time"))

    # -- workers -----------------------------------------------------------------------

    async def _work(self, shard: int) -> None:
        loop = asyncio.get_running_loop()
        stream = self._streams[shard]
        next_claim = 0.0
        while not self._stopping.is_set():
            try:
                if shard in self._held and shard not in self._leases.mine:
                    # Another live worker's share now: hand it over with nothing in hand.
                    self._held.discard(shard)
                    await self._leases.give_back(shard)
                    log.info("bus.lease_handed_over", shard=shard, consumer=self._consumer)
                    continue
                if shard not in self._held:
                    if shard not in self._leases.mine or not await self._leases.take(shard):
                        await self._pause(self._poll)
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
        """Say this process is alive, learn its share, renew its leases (a lease another
        process took is let go)."""
        loop = asyncio.get_running_loop()
        renewed = loop.time()
        while not self._stopping.is_set():
            await self._pause(self._lease_ms / 3000)
            try:
                await self._leases.announce()
                for shard in list(self._held):
                    if not await self._leases.take(shard):
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
                self.stats["reclaimed"] += len(claimed)
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

    def _open(self, stream: str, fields: dict[str, str]) -> tuple[str, str, Event]:
        """The publisher's token, the publisher, and the event, from a sealed entry."""
        payload = self._seal.open(stream, fields.get("d", ""))
        token, origin, encoded = payload.split(b"\x00", 2)
        return token.decode(), origin.decode(), decode(encoded)

    async def _handle(self, shard: int, entries: list[tuple[str, dict[str, str], int]]) -> None:
        """Handle a batch in order; ack what was handled in one pipeline per flush."""
        loop = asyncio.get_running_loop()
        stream = self._streams[shard]
        ready: list[tuple[str, str, str, int, Event]] = []
        finished: list[Finished] = []
        self._busy.add(shard)
        try:
            for entry_id, fields, deliveries in entries:
                try:
                    token, origin, event = self._open(stream, fields)
                except (UnsealableEntry, UndecodableEvent, ValueError):
                    await self._dead_letter(stream, entry_id, deliveries, "undecodable")
                    finished.append((entry_id, None, None, FAILED))
                    continue
                if deliveries > self._max_deliveries:  # e.g. it crashed its worker each time
                    await self._dead_letter(stream, entry_id, deliveries, "deliveries", event)
                    finished.append((entry_id, token, origin, FAILED))
                    continue
                ready.append((entry_id, token, origin, deliveries, event))
            flushed = loop.time()
            for entry_id, token, origin, deliveries, event in ready:
                if self._stopping.is_set() or shard not in self._held:
                    break  # left pending: the next holder of the shard takes them over
                outcome = await self._process(stream, entry_id, deliveries, event)
                if outcome is not None:
                    finished.append((entry_id, token, origin, outcome))
                if loop.time() - flushed > FLUSH_SECONDS:
                    await self._finish(stream, finished)
                    finished, flushed = [], loop.time()
            await self._finish(stream, finished)
        finally:
            self._busy.discard(shard)

    async def _process(
        self, stream: str, entry_id: str, deliveries: int, event: Event
    ) -> str | None:
        """The pipeline's outcome; None when it failed and will be retried after claim_idle."""
        self.stats["processed"] += 1
        try:
            return await self._pipeline.process(event)
        except Exception as exc:  # isolate: log without content
            log.error(
                "bus.event_failed",
                event_id=event.id,
                deliveries=deliveries,
                error=type(exc).__name__,
                where=where(exc),
            )
            self.stats["failures"] += 1
            if deliveries >= self._max_deliveries:
                await self._dead_letter(stream, entry_id, deliveries, type(exc).__name__, event)
                return FAILED
            return None

    def _seen_key(self, event: Event) -> str:
        return f"{self._prefix}:seen:{self._seal.name(dedupe_key(event))}"

    async def _finish(self, stream: str, finished: list[Finished]) -> None:
        """Ack and delete the handled entries, tell their publishers, in one round trip."""
        if not finished:
            return
        ids = [entry_id for entry_id, _, _, _ in finished]
        outcomes: defaultdict[str, list[str]] = defaultdict(list)
        for _, token, origin, outcome in finished:
            if token and origin and origin != self._consumer:  # published by another process
                outcomes[origin].append(f"{token} {outcome}")
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xack(stream, GROUP, *ids)
            # Handled entries go at once rather than waiting in Redis until trimming.
            pipe.xdel(stream, *ids)
            for origin, lines in outcomes.items():
                pipe.rpush(self._inbox_of(origin), *lines)
                pipe.expire(self._inbox_of(origin), INBOX_SECONDS)
            await pipe.execute()
        for _, token, _, outcome in finished:
            if token:
                self._resolve(token, outcome)

    async def _dead_letter(
        self,
        stream: str,
        entry_id: str,
        deliveries: int,
        reason: str,
        event: Event | None = None,
    ) -> None:
        """Park an entry that keeps failing: its ids and why, never its text (the caller
        acks it)."""
        record: dict[str, str | int] = {
            "stream": stream,
            "entry": entry_id,
            "deliveries": deliveries,
            "reason": reason,
        }
        if event is not None:
            record.update(event_id=event.id, platform=event.platform, kind=event.kind.value)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xadd(self._dead, record, maxlen=DEAD_MAXLEN, approximate=True)
            if event is not None:  # a later retry by the platform may try again
                pipe.delete(self._seen_key(event))
            await pipe.execute()
        self.stats["dead_letters"] += 1
        log.error(
            "bus.dead_letter",
            stream=stream,
            entry=entry_id,
            event_id=event.id if event else None,
            deliveries=deliveries,
            reason=reason,
        )

    async def _let_go(self) -> None:
        """On stop: leave the members and free our leases for the others; forget our
        consumer if it holds nothing (one with pending entries stays, to be reclaimed)."""
        if not self._consume:
            return
        await self._leases.leave()
        for shard in list(self._held):
            await self._leases.give_back(shard)
        self._held.clear()
        for stream in self._streams:
            pending = await self._redis.xpending_range(
                stream, GROUP, min="-", max="+", count=1, consumername=self._consumer
            )
            if not pending:
                await self._redis.xgroup_delconsumer(stream, GROUP, self._consumer)
