"""The Redis Streams bus against a real Redis (database 15, a key prefix of its own per test)."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from redis import asyncio as aioredis

import bot.bus_redis
import tests.test_end_to_end as end_to_end
from adapters.console.normalize import PostedMessage, message_event
from bot.app import Application
from bot.bus_redis import GROUP, RedisStreamsBus
from bot.commands import build_router
from bot.consent.notices import Purpose
from bot.context import Args, Context
from bot.event_codec import UndecodableEvent, decode, encode
from bot.events import Action, Actor, Command, Conversation, ConversationKind, Event, EventKind
from bot.pipeline import Outcome
from bot.router import Router
from bot.settings import Settings
from tests.conftest import ConsoleClient, make_settings, service_unavailable
from tests.redis_dump import everything_under
from tests.test_bus import command, router_with

REDIS_URL = os.environ.get("APPRENTICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
async def redis() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(REDIS_URL, decode_responses=True, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        service_unavailable(f"Redis not reachable at {REDIS_URL} ({type(exc).__name__})")
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis: aioredis.Redis, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """A key prefix of this test's own (the app's bus uses it too); its keys go afterwards."""
    name = f"apprentice-test:{uuid.uuid4().hex[:12]}"
    monkeypatch.setattr(bot.bus_redis, "DEFAULT_PREFIX", name)
    yield name
    keys = [key async for key in redis.scan_iter(match=f"{name}:*", count=500)]
    if keys:
        await redis.delete(*keys)


@pytest.fixture
def settings(tmp_path: Path, prefix: str) -> Settings:  # the app of conftest, on the Redis bus
    return make_settings(tmp_path / "data", bus="redis", redis_url=REDIS_URL)


def redis_bus(app: Application, router: Any, prefix: str, **options: Any) -> RedisStreamsBus:
    """A bus of the test's own next to the app's, fast timings so nothing waits long."""
    assert app.services is not None
    values: dict[str, Any] = {"claim_idle": 0.05, "block_seconds": 0.02, "workers": 4}
    values.update(options)
    return RedisStreamsBus(
        app.services, router, redis_url=REDIS_URL, prefix=f"{prefix}:own", **values
    )


# -- the codec ---------------------------------------------------------------------------


def every_field_event(**changes: Any) -> Event:
    event = Event(
        id="Ev1",
        platform="slack",
        tenant="T1",
        kind=EventKind.COMMAND,
        actor=Actor(id="U1", name="Alice 爱丽丝", is_bot=True, locale="zh-CN"),
        conversation=Conversation(
            id="C1",
            kind=ConversationKind.GROUP,
            thread_id="1700000000.000100",
            name="team",
            reply_token="https://hooks.example/response/abc",
        ),
        occurred_at=datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=8))),
        text="/skill teach review\n  keep these lines",
        command=Command(name="teach", args=("review", "#c"), raw="review\n  keep these lines"),
        action=Action(id="consent.agree", value="v=1", message_ref="m9", via="text"),
        message_id="M1",
        edited=True,
        deleted=True,
        imported=True,
        raw={"token": "raw-payload-must-not-travel"},
    )
    return dataclasses.replace(event, **changes)


def test_codec_round_trips_every_field_but_raw() -> None:
    event = every_field_event()
    encoded = encode(event)
    decoded = decode(encoded)
    for field in dataclasses.fields(Event):
        if field.name != "raw":
            assert getattr(decoded, field.name) == getattr(event, field.name), field.name
    assert decoded.raw is None and "raw-payload-must-not-travel" not in encoded
    assert decoded.occurred_at.tzinfo is UTC
    assert decoded.occurred_at == event.occurred_at
    written = set(json.loads(encoded)) - {"v"}
    assert written == {f.name for f in dataclasses.fields(Event)} - {"raw"}


def test_codec_round_trips_the_defaults_and_a_naive_time() -> None:
    event = every_field_event(
        kind=EventKind.MESSAGE,
        actor=Actor(id="U2"),
        conversation=Conversation(id="D1", kind=ConversationKind.DM),
        occurred_at=datetime(2024, 1, 1, 12, 0),  # naive: taken as UTC
        command=None,
        action=None,
        message_id=None,
        edited=False,
        deleted=False,
        imported=False,
    )
    decoded = decode(encode(event))
    as_utc = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert decoded == dataclasses.replace(event, occurred_at=as_utc)


def test_codec_refuses_what_it_did_not_write_without_echoing_it() -> None:
    for data in ('{"v": 1, "id": "x"}', "secret words", '{"v": 99}'):
        with pytest.raises(UndecodableEvent) as caught:
            decode(data)
        assert "secret" not in str(caught.value) and '"x"' not in str(caught.value)


# -- the console walk-through on the Redis bus -----------------------------------------

WALK_THROUGH = [
    getattr(end_to_end, name)
    for name in dir(end_to_end)
    if name.startswith("test_")
    and set(inspect.signature(getattr(end_to_end, name)).parameters) <= {"app", "console"}
]


@pytest.mark.parametrize("case", WALK_THROUGH, ids=lambda case: case.__name__)
async def test_console_walk_through_on_the_redis_bus(
    case: Callable[..., Awaitable[None]], app: Application, console: ConsoleClient
) -> None:
    assert isinstance(app.bus, RedisStreamsBus)
    given = {"app": app, "console": console}
    await case(**{name: given[name] for name in inspect.signature(case).parameters})


# -- delivery ------------------------------------------------------------------------------


async def test_same_event_id_is_processed_once(app: Application, prefix: str) -> None:
    calls: list[str] = []
    bus = redis_bus(app, router_with(calls), prefix)
    await bus.start()
    event = command("alice", "/skill note 1")
    outcomes = [await (await bus.publish(event)) for _ in range(3)]
    await bus.stop()
    assert calls == ["1"] and outcomes == ["handled", "duplicate_event", "duplicate_event"]


async def test_one_persons_events_are_handled_in_order(app: Application, prefix: str) -> None:
    calls: list[str] = []
    bus = redis_bus(app, router_with(calls), prefix, workers=4)
    await bus.start()
    deliveries = [await bus.publish(command("alice", f"/skill note {i}")) for i in range(20)]
    await asyncio.gather(*deliveries)
    await bus.stop()
    assert calls == [str(i) for i in range(20)]


async def test_an_entry_a_dead_consumer_left_pending_is_reclaimed(
    app: Application, prefix: str, redis: aioredis.Redis
) -> None:
    calls: list[str] = []
    bus = redis_bus(app, router_with(calls), prefix)
    event = command("alice", "/skill note 7")
    delivery = await bus.publish(event)
    stream = bus.stream_of(event)
    # Another worker reads it and dies before acking.
    taken = await redis.xreadgroup(GROUP, "dead-worker", {stream: ">"}, count=10)
    assert len(taken[0][1]) == 1
    await bus.start()
    assert await asyncio.wait_for(delivery, 5) == "handled"
    await bus.stop()
    assert calls == ["7"]
    assert (await redis.xpending(stream, GROUP))["pending"] == 0


async def test_an_entry_failing_every_time_goes_to_the_dead_letter_stream(
    app: Application, prefix: str, redis: aioredis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[str] = []
    bus = redis_bus(app, router_with(calls), prefix, max_deliveries=3)
    attempts: list[str] = []
    process = bus._pipeline.process

    async def failing(event: Event) -> str:
        if event.id == "poison":
            attempts.append(event.id)
            raise RuntimeError("secret words must not reach the log")
        return await process(event)

    bus._pipeline.process = failing  # type: ignore[method-assign]
    await bus.start()
    poison = await bus.publish(command("alice", "/skill note 1 secret-words", "poison"))
    assert await asyncio.wait_for(poison, 5) == "failed"
    assert await asyncio.wait_for(await bus.publish(command("alice", "/skill note 2")), 5)
    await bus.stop()
    assert attempts == ["poison"] * 3 and calls == ["2"]
    dead = await redis.xrange(bus.dead_letter_stream)
    assert len(dead) == 1
    record = dead[0][1]
    assert record["event_id"] == "poison" and record["deliveries"] == "3"
    assert record["reason"] == "RuntimeError"
    assert not any("secret" in value for value in record.values())
    stream = bus.stream_of(command("alice", "x"))
    assert (await redis.xpending(stream, GROUP))["pending"] == 0
    logged = capsys.readouterr()
    assert "bus.dead_letter" in logged.out + logged.err
    assert "secret" not in logged.out + logged.err


async def test_a_withdrawal_stops_a_message_already_queued(
    app: Application, console: ConsoleClient, prefix: str
) -> None:
    assert app.services is not None
    await console.say("admin", "team", "/skill admin observe #team")
    await console.opt_in("alice")
    await console.say("alice", "team", "kept: said while consenting")
    assert await end_to_end.count("observations") == 1
    bus = redis_bus(app, build_router(), prefix)
    queued = message_event(PostedMessage("alice", "team", "queued when she withdrew"), "q1", "m1")
    delivery = await bus.publish(queued)  # waits in Redis: no worker runs yet
    await console.say("alice", "team", "/skill optout")  # handled first, by the app's bus
    tenant = await app.services.directory.tenant("console", "local")
    assert await app.services.ledger.live_grant(tenant, "alice", Purpose.OBSERVE) is None
    await bus.start()
    outcome = await asyncio.wait_for(delivery, 5)
    await bus.stop()
    assert outcome != Outcome.STORED
    assert await end_to_end.count("observations") == 1


async def test_a_full_stream_makes_publishers_wait(app: Application, prefix: str) -> None:
    calls: list[str] = []
    bus = redis_bus(app, router_with(calls), prefix, queue_size=2, workers=1)
    await bus.publish(command("alice", "/skill note 1"))
    await bus.publish(command("alice", "/skill note 2"))
    third = asyncio.create_task(bus.publish(command("alice", "/skill note 3")))
    await asyncio.sleep(0.1)
    assert not third.done()  # bounded: the third waits until a worker takes some
    await bus.start()
    await asyncio.wait_for(await third, 5)
    await bus.drain()
    await bus.stop()
    assert calls == ["1", "2", "3"]


async def test_another_process_handles_it_and_the_publisher_learns_the_outcome(
    app: Application, prefix: str
) -> None:
    calls: list[str] = []
    publisher = redis_bus(app, router_with(calls), prefix)  # publishes, runs no worker
    worker = redis_bus(app, router_with(calls), prefix)  # same streams, another consumer
    await worker.start()
    outcomes = await asyncio.wait_for(
        asyncio.gather(
            *[await publisher.publish(command("bob", f"/skill note {i}")) for i in range(5)]
        ),
        5,
    )
    await worker.stop()
    await publisher.stop()
    assert outcomes == ["handled"] * 5 and calls == ["0", "1", "2", "3", "4"]


async def wait_until(condition: Callable[[], Any], what: str, guard: float = 60.0) -> None:
    """Poll a condition (not a timed assertion: `guard` only stops a hung test)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + guard
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        assert loop.time() < deadline, f"gave up waiting: {what}"
        await asyncio.sleep(0.01)


async def crash(bus: RedisStreamsBus) -> None:
    """The bus's process dies: its tasks end, nothing is handed back or released."""
    bus._stopping.set()
    tasks = [*bus._tasks, *(t for t in (bus._listener, bus._writer) if t is not None)]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    bus._tasks, bus._listener, bus._writer = [], None, None
    await bus._redis.aclose()


async def test_two_workers_take_half_the_shards_each(app: Application, prefix: str) -> None:
    calls: list[str] = []
    first = redis_bus(app, router_with(calls), prefix, workers=4, lease_seconds=0.3)
    second = redis_bus(app, router_with(calls), prefix, workers=4, lease_seconds=0.3)
    await first.start()
    await wait_until(lambda: len(first.held) == 4, "the only worker reads every shard")
    await second.start()
    await wait_until(
        lambda: len(first.held) == 2 and len(second.held) == 2, "the shards spread over two"
    )
    assert not first.held & second.held
    deliveries = [await second.publish(command(f"u{i}", f"/skill note {i}")) for i in range(12)]
    assert sorted(await asyncio.gather(*deliveries)) == ["handled"] * 12
    await first.stop()  # leaves: the second takes its shards at once
    await wait_until(lambda: len(second.held) == 4, "the survivor reads every shard")
    await second.stop()
    assert sorted(calls, key=int) == [str(i) for i in range(12)]


async def test_a_dead_workers_shards_and_pending_entries_move(
    app: Application, prefix: str
) -> None:
    calls: list[str] = []
    started = asyncio.Event()
    hanging = Router()

    @hanging.command("note", summary="never finishes")
    async def hang(ctx: Context, args: Args) -> None:
        started.set()
        await asyncio.Event().wait()

    first = redis_bus(app, hanging, prefix, workers=2, lease_seconds=0.3)
    second = redis_bus(app, router_with(calls), prefix, workers=2, lease_seconds=0.3)
    await first.start()
    await second.start()
    await wait_until(lambda: len(first.held) == 1 == len(second.held), "one shard each")
    users = (f"p{i}" for i in range(100))
    author = next(u for u in users if shard_of_user(first, u) in first.held)
    delivery = await second.publish(command(author, "/skill note 9"))
    await wait_until(started.is_set, "the first worker has read it and is handling it")
    await crash(first)  # dies with the entry read and not acked; its lease lapses
    await wait_until(lambda: len(second.held) == 2, "the survivor takes the dead one's shard")
    assert await asyncio.wait_for(delivery, 10) == "handled"  # reclaimed and handled again
    late = await second.publish(command(author, "/skill note 10"))
    assert await asyncio.wait_for(late, 10) == "handled"
    await second.stop()
    assert calls == ["9", "10"]


def shard_of_user(bus: RedisStreamsBus, user: str) -> int:
    return bus._streams.index(bus.stream_of(command(user, "x")))


async def test_an_entry_moved_to_another_stream_does_not_open(
    app: Application, prefix: str, redis: aioredis.Redis
) -> None:
    calls: list[str] = []
    publisher = redis_bus(app, router_with(calls), prefix, workers=2)
    event = command("alice", "/skill note 1")
    await publisher.publish(event)  # its outcome never comes: the entry won't open
    await publisher.stop()
    bus = redis_bus(app, router_with(calls), prefix, workers=2)
    source = bus.stream_of(event)
    target = next(s for s in bus._streams if s != source)
    [(entry_id, fields)] = await redis.xrange(source)
    await redis.xadd(target, fields)
    await redis.xdel(source, entry_id)
    await bus.start()
    await wait_until(lambda: redis.xlen(bus.dead_letter_stream), "the moved entry is dead-lettered")
    await bus.stop()
    [(_, record)] = await redis.xrange(bus.dead_letter_stream)
    assert record["reason"] == "undecodable" and calls == []


# -- what Redis holds ----------------------------------------------------------------------

SECRET_WORDS = {
    "agreed": "Zq7 shipped the invoice rounding fix",
    "never_agreed": "Kw4 thinks the reorg is a mistake",
    "dm": "Jx9 my doctor said I need surgery",
    "queued": "Vb2 queued words nobody has read yet",
}


async def test_redis_holds_no_message_text_and_no_user_ids(
    app: Application, console: ConsoleClient, prefix: str, redis: aioredis.Redis
) -> None:
    """DUMP of every key of the bus (what RDB, AOF and replicas get) and XRANGE: no words
    of anyone, consenting or not, handled or still queued, and no user or channel id."""
    agreed, never, channel = "u-agr-5f3e9a", "u-nev-7c21d4", "ch-q8r2x"
    await console.say("admin", channel, f"/skill admin observe #{channel}")
    await console.opt_in(agreed)
    await console.say(agreed, channel, SECRET_WORDS["agreed"])
    await console.say(never, channel, SECRET_WORDS["never_agreed"])
    await console.say(never, f"dm:{never}", SECRET_WORDS["dm"])
    assert await end_to_end.count("observations") == 1
    # An entry still waiting on a stream nobody reads yet.
    idle = redis_bus(app, build_router(), prefix)
    await idle.publish(
        message_event(PostedMessage(never, channel, SECRET_WORDS["queued"]), "q1", "mq1")
    )
    raw = aioredis.from_url(REDIS_URL, decode_responses=False)
    try:
        held = await everything_under(raw, prefix)
        assert b":stream:" in held and len(held) > 1000  # it did read the bus's keys
        # The same search finds words when they are there, even LZF-compressed in a DUMP.
        control = f"apprentice-control:{uuid.uuid4().hex}"
        await raw.xadd(control, {"e": (SECRET_WORDS["never_agreed"] + " ") * 8 + never})
        found = await everything_under(raw, control)
        await raw.delete(control)
    finally:
        await raw.aclose()
        await idle.stop()
    assert SECRET_WORDS["never_agreed"].encode() in found and never.encode() in found
    for name, words in SECRET_WORDS.items():
        for word in words.split():
            if len(word) >= 6:  # distinctive: random ciphertext won't hold one by chance
                assert word.encode() not in held, (name, word)
    for identifier in (agreed, never, channel, "admin"):
        assert identifier.encode() not in held, identifier
