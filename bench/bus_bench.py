"""Events/s through the Redis Streams bus with one and with two worker processes, beside raw
XADD and XREADGROUP/XACK (hiredis) on the same Redis, in the same run.

The workers are real `apprentice run --role worker` processes (PostgreSQL, a scratch
database); this process is the gateway, with 50 concurrent publishers as an HTTP adapter
has. Publishing is timed while no worker reads (the bench holds the shards' leases); then
it lets the leases go and times the workers draining the streams (the outcomes flow back to
the gateway meanwhile). The events are bot-authored messages from 200 authors — the
pipeline refuses those at its first step — so the figures are the bus's own cost: seal,
dedupe + XADD, XREADGROUP, open, decode, XACK + XDEL, the outcome back to the publisher.
Raw moves entries of the same size with none of that. Each run checks every event's
outcome came back and the workers' own counts add up to exactly the events sent.

Run: .venv/bin/python bench/bus_bench.py   (BENCH_EVENTS, default 20000;
BENCH_REDIS_URL, default redis://127.0.0.1:6379/15; BENCH_POSTGRES_URL, default
postgres://postgres@127.0.0.1:5432/postgres; the bench's keys and database go afterwards.)
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis import asyncio as aioredis  # noqa: E402

from adapters.console.normalize import PostedMessage, message_event  # noqa: E402
from bot.app import Application  # noqa: E402
from bot.bus_redis import RedisStreamsBus  # noqa: E402
from bot.consent.gate import Refusal  # noqa: E402
from bot.events import Actor, Conversation, ConversationKind, Event, EventKind  # noqa: E402
from bot.logging import configure  # noqa: E402
from bot.roles import Role  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.processes import (  # noqa: E402
    BotProcess,
    scratch_postgres,
    settings_values,
    shared_environment,
)
from tests.test_bus_faults import AUTHORS as CONSENTING  # noqa: E402
from tests.test_bus_faults import consent_to_everything, stored  # noqa: E402

EVENTS = int(os.environ.get("BENCH_EVENTS", "20000"))
STORED = int(os.environ.get("BENCH_STORED", "1500"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PUBLISHERS = 50
AUTHORS = 200
SHARDS = 4
WORDS = [
    "fixed",
    "the",
    "rounding",
    "bug",
    "in",
    "invoice",
    "totals",
    "deploy",
    "tomorrow",
    "review",
    "the",
    "migration",
    "plan",
    "call",
    "me",
    "at",
    "13812345678",
    "or",
    "write",
    "to",
    "a.b@example.com",
    "周报",
    "本周",
    "完成",
    "发布",
    "测试",
    "下周",
    "计划",
]


def events(count: int) -> list[Event]:
    chooser = random.Random(7)
    now = datetime.now(UTC)
    return [
        Event(
            id=uuid.uuid4().hex,
            platform="slack",
            tenant="T0BENCH",
            kind=EventKind.MESSAGE,
            occurred_at=now,
            actor=Actor(id=f"B{chooser.randrange(AUTHORS):05d}", name="deploy-bot", is_bot=True),
            conversation=Conversation(id="C0BENCH", kind=ConversationKind.CHANNEL),
            text=" ".join(chooser.choices(WORDS, k=chooser.randrange(8, 30))),
            message_id=f"{i}.000100",
        )
        for i in range(count)
    ]


async def raw_baseline(count: int, entry_size: int, prefix: str) -> tuple[float, float]:
    """XADD pipelined (500 a round trip), then XREADGROUP COUNT 500 + XACK/XDEL pipelined:
    entries per second of each."""
    redis: Any = aioredis.from_url(REDIS_URL)
    streams = [f"{prefix}:raw:{i}" for i in range(SHARDS)]
    payload = base64.b64encode(os.urandom(entry_size * 3 // 4)).decode()
    for stream in streams:
        await redis.xgroup_create(stream, "g", id="0", mkstream=True)
    start = time.perf_counter()
    for first in range(0, count, 500):
        async with redis.pipeline(transaction=False) as pipe:
            for i in range(first, min(count, first + 500)):
                pipe.xadd(streams[i % SHARDS], {"d": payload})
            await pipe.execute()
    written = time.perf_counter()
    done = 0
    while done < count:
        reply = await redis.xreadgroup("g", "c", {s: ">" for s in streams}, count=500)
        async with redis.pipeline(transaction=False) as pipe:
            for stream, entries in reply:
                ids = [entry_id for entry_id, _ in entries]
                pipe.xack(stream, "g", *ids)
                pipe.xdel(stream, *ids)
                done += len(ids)
            await pipe.execute()
    read = time.perf_counter()
    await redis.delete(*streams)
    await redis.aclose()
    return count / (written - start), count / (read - written)


async def until(condition: Any) -> None:
    while not await condition():
        await asyncio.sleep(0.01)


def consented_messages(count: int, run: str) -> list[Event]:
    """Messages of consenting people in an observed channel: gated, redacted, encrypted and
    stored in PostgreSQL by the workers; a share carry a phone number or an e-mail."""
    chooser = random.Random(run)
    return [
        message_event(
            PostedMessage(
                CONSENTING[i % len(CONSENTING)],
                "team",
                " ".join(chooser.choices(WORDS, k=chooser.randrange(8, 30))),
            ),
            f"{run}-ev-{i}",
            f"{run}-msg-{i}",
        )
        for i in range(count)
    ]


async def through_workers(
    workers: int,
    gateway: RedisStreamsBus,
    env: dict[str, str],
    logs: Path,
    batch: list[Event],
    expected: str,
) -> tuple[float, float]:
    """Publish rate (the gateway, no worker reading) and consume rate (`workers` processes
    taking the filled streams over at once), in events per second."""
    prefix = env["APPRENTICE_BUS_PREFIX"]
    redis: Any = aioredis.from_url(REDIS_URL, decode_responses=True)
    hold = [f"{prefix}:lease:{i}" for i in range(SHARDS)]
    for key in hold:  # the workers stand by until these go
        await redis.set(key, "bench-holds-it", px=600_000)
    processes = [
        BotProcess("worker", env, logs / f"w{workers}-{i}.log", free_port()) for i in range(workers)
    ]
    try:
        return await _measure(workers, processes, gateway, redis, prefix, hold, batch, expected)
    finally:
        await redis.aclose()
        for process in processes:
            process.ensure_gone()


async def _measure(
    workers: int,
    processes: list[BotProcess],
    gateway: RedisStreamsBus,
    redis: Any,
    prefix: str,
    hold: list[str],
    batch: list[Event],
    expected: str,
) -> tuple[float, float]:
    for process in processes:
        process.start()
    for process in processes:
        await process.wait_started()

    async def members() -> bool:
        return await redis.zcard(f"{prefix}:members") == workers

    await asyncio.wait_for(until(members), 120)
    sent = len(batch)
    slices = [batch[i::PUBLISHERS] for i in range(PUBLISHERS)]

    async def publisher(mine: list[Event]) -> list[Any]:
        return [await gateway.publish(event) for event in mine]

    start = time.perf_counter()
    deliveries = [d for part in await asyncio.gather(*map(publisher, slices)) for d in part]
    published = sent / (time.perf_counter() - start)

    async def drained() -> bool:
        return not any([await gateway._unprocessed(s) for s in gateway._streams])

    start = time.perf_counter()
    await redis.delete(*hold)
    await asyncio.wait_for(until(drained), 600)
    consumed = sent / (time.perf_counter() - start)
    outcomes = await asyncio.gather(*deliveries)
    counts = [await process.stop() for process in processes]
    processed = sum(int(c.get("processed", 0)) for c in counts)
    assert outcomes == [expected] * sent, f"an event came back wrong: {set(outcomes)}"
    assert processed == sent, f"{processed} processed for {sent} sent: not exactly once"
    assert not any(c.get("failures") for c in counts), counts
    return published, consumed


async def main() -> None:
    configure("WARNING")
    prefix = f"apprentice-bench:{uuid.uuid4().hex[:8]}"
    client = aioredis.from_url(REDIS_URL)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with scratch_postgres(POSTGRES_URL) as database_url:
                env = shared_environment(
                    database_url,
                    REDIS_URL,
                    prefix,
                    Path(tmp),
                    APPRENTICE_BUS_LEASE_SECONDS="1",
                    APPRENTICE_BUS_QUEUE_SIZE=str(EVENTS * 2),  # the streams hold a whole run
                )
                settings = Settings(
                    **settings_values(env), web_port=free_port(), bus_queue_size=EVENTS * 2
                )
                gateway_app = Application(settings, Role.GATEWAY)  # applies the migrations
                await gateway_app.start(serve_web=False, adapters=False)
                try:
                    gateway = gateway_app.bus
                    assert isinstance(gateway, RedisStreamsBus)
                    entry = sample_entry_size(gateway, events(50))
                    raw_add, raw_read = await raw_baseline(EVENTS, entry, prefix)
                    bot = Refusal.FROM_A_BOT.value
                    pub1, one = await through_workers(
                        1, gateway, env, Path(tmp), events(EVENTS), bot
                    )
                    pub2, two = await through_workers(
                        2, gateway, env, Path(tmp), events(EVENTS), bot
                    )
                    await consent_to_everything(env)
                    _, kept_one = await through_workers(
                        1, gateway, env, Path(tmp), consented_messages(STORED, "one"), "stored"
                    )
                    _, kept_two = await through_workers(
                        2, gateway, env, Path(tmp), consented_messages(STORED, "two"), "stored"
                    )
                    count, distinct = await stored(env)
                    assert count == distinct == 2 * STORED, (count, distinct)
                finally:
                    await gateway_app.stop()
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()
    publish = (pub1 + pub2) / 2
    print(f"events per run: {EVENTS} ({AUTHORS} authors, {SHARDS} shards, {PUBLISHERS} publishers)")
    print(f"sealed entry   : {entry} bytes on the stream (raw moves entries of that size)")
    print(f"raw XADD pipelined             : {raw_add:8.0f} ev/s (1.00x)")
    print(f"bus publish (gateway, sealed)  : {publish:8.0f} ev/s ({publish / raw_add:.2f}x raw)")
    print(f"raw XREADGROUP + XACK/XDEL     : {raw_read:8.0f} ev/s (1.00x)")
    print(f"bus consume, one worker        : {one:8.0f} ev/s ({one / raw_read:.2f}x raw)")
    print(
        f"bus consume, two workers       : {two:8.0f} ev/s ({two / raw_read:.2f}x raw, "
        f"{two / one:.2f}x one)"
    )
    print(f"stored messages (gate, redact, encrypt, PostgreSQL), {STORED} from consenting people:")
    print(f"  one worker                   : {kept_one:8.0f} msg/s (1.00x)")
    print(
        f"  two workers                  : {kept_two:8.0f} msg/s ({kept_two / kept_one:.2f}x one)"
    )
    print("checked: every outcome came back, each event processed exactly once, each message")
    print("stored once")


def sample_entry_size(bus: RedisStreamsBus, sample: list[Event]) -> int:
    """The average size of what the bus writes for such events."""
    from bot.event_codec import encode  # noqa: PLC0415

    sizes = [
        len(bus._seal.seal("s", f"{'0' * 32}\x00{'c' * 30}\x00{encode(e)}".encode()))
        for e in sample
    ]
    return sum(sizes) // len(sizes)


if __name__ == "__main__":
    asyncio.run(main())
