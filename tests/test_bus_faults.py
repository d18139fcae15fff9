"""kill -9 a worker process in the middle of a stream of consented messages: the other worker
takes its shards and its pending entries over; every message is stored exactly once.

Real processes (`apprentice run --role worker`), real Redis, real PostgreSQL. This test's
process is the gateway. Every wait is on a condition; the guards only stop a hung run.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from redis import asyncio as aioredis

from adapters.console.normalize import Click, PostedMessage, message_event
from bot.app import Application
from bot.bus_redis import GROUP, RedisStreamsBus
from bot.pipeline import Outcome
from bot.roles import Role
from bot.settings import Settings
from tests.conftest import free_port
from tests.processes import REDIS_URL, BotProcess, settings_values
from tests.processes import installation as shared_installation

AUTHORS = [f"author{i}" for i in range(8)]
HALF = 300  # messages before the kill, and as many after it
GUARD = 300.0  # seconds: only to stop a hung run, never a timing being checked


@pytest.fixture
async def installation(tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    async with shared_installation(tmp_path / "data", APPRENTICE_BUS_LEASE_SECONDS="1") as env:
        yield env


async def until(condition: Any, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GUARD
    while not await condition():
        assert loop.time() < deadline, f"gave up waiting: {what}"
        await asyncio.sleep(0.02)


async def consent_to_everything(env: dict[str, str]) -> None:
    """The admin observes #team and every author agrees, through a process of role all."""
    settings = Settings(**{**settings_values(env), "console": True}, web_port=free_port())
    app = Application(settings, Role.ALL)
    await app.start(serve_web=False)
    try:
        assert app.console is not None
        await app.console.post(PostedMessage("admin", "team", "/skill admin observe #team"))
        for author in AUTHORS:
            replies = await app.console.post(PostedMessage(author, f"dm:{author}", "/skill optin"))
            agree = next(b for r in replies for b in r.buttons if b["label"] == "Agree")
            await app.console.click(Click(author, agree["action_id"], agree["value"]))
    finally:
        await app.stop()


async def stored(env: dict[str, str]) -> tuple[int, int]:
    """(observations, distinct message ids among them), read from PostgreSQL itself."""
    connection = await asyncpg.connect(env["DATABASE_URL"].replace("postgres://", "postgresql://"))
    try:
        row = await connection.fetchrow(
            "SELECT count(*) AS n, count(DISTINCT message_id) AS d FROM observations"
        )
    finally:
        await connection.close()
    return int(row["n"]), int(row["d"])


def messages(first: int, count: int) -> list[Any]:
    return [
        message_event(
            PostedMessage(AUTHORS[i % len(AUTHORS)], "team", f"status update number {i}"),
            f"ev-{i}",
            f"msg-{i}",
        )
        for i in range(first, first + count)
    ]


async def test_a_worker_killed_mid_stream_loses_nothing_and_stores_nothing_twice(
    installation: dict[str, str], tmp_path: Path
) -> None:
    env = installation
    await consent_to_everything(env)
    gateway_app = Application(Settings(**settings_values(env), web_port=free_port()), Role.GATEWAY)
    await gateway_app.start(serve_web=False, adapters=False)
    gateway = gateway_app.bus
    assert isinstance(gateway, RedisStreamsBus)
    redis: Any = aioredis.from_url(REDIS_URL, decode_responses=True)
    prefix = env["APPRENTICE_BUS_PREFIX"]
    workers = [
        BotProcess("worker", env, tmp_path / f"worker{i}.log", free_port()) for i in range(2)
    ]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            await worker.wait_started()

        async def holders() -> set[str | None]:
            return {await redis.get(f"{prefix}:lease:{i}") for i in range(4)}

        async def spread() -> bool:
            found = await holders()
            return None not in found and len(found) == 2

        await until(spread, "the shards spread over both workers")
        doomed, survivor = workers
        before = [await gateway.publish(event) for event in messages(0, HALF)]

        async def under_way() -> bool:
            return (await stored(env))[0] >= HALF // 4

        await until(under_way, "the workers are storing")
        doomed.kill()  # mid-stream: its shards still hold entries it has read or not yet read
        at_kill = (await stored(env))[0]
        after = [await gateway.publish(event) for event in messages(HALF, HALF)]

        async def all_stored() -> bool:
            return (await stored(env))[0] >= 2 * HALF

        await until(all_stored, "every message is stored")
        outcomes = await asyncio.gather(*before, *after)

        async def nothing_pending() -> bool:
            return not any([await gateway._unprocessed(s) for s in gateway._streams])

        await until(nothing_pending, "the streams are drained and nothing is pending")
        assert await holders() == {_holder(survivor)}  # the dead one's shards moved
        count, distinct = await stored(env)
        assert at_kill < 2 * HALF
        assert count == distinct == 2 * HALF  # none lost, none twice
        assert set(outcomes) <= {Outcome.STORED, Outcome.ALREADY_STORED}, set(outcomes)
        for stream in gateway._streams:
            assert (await redis.xpending(stream, GROUP))["pending"] == 0
    finally:
        counts = await workers[1].stop()
        for worker in workers:
            worker.ensure_gone()
        await redis.aclose()
        await gateway_app.stop()
    assert counts.get("processed", 0) >= HALF  # the survivor did its share and the dead one's


def _holder(process: BotProcess) -> str:
    """The consumer name the process announced (its lease holder name)."""
    taken = process.logged("bus.lease_taken")
    assert taken, "the survivor never took a lease"
    return str(taken[-1]["consumer"])
