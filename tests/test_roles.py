"""`apprentice run --role …`: what each role does, where it may run, and one scheduler."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.triggers.cron import CronTrigger
from typer.testing import CliRunner

from bot.app import Application
from bot.bus_redis import RedisStreamsBus
from bot.cli import app as cli
from bot.pg_locks import asyncpg_dsn
from bot.roles import Role, RoleError, duties_of
from bot.scheduler_lock import SchedulerLock
from bot.settings import Settings
from bot.storage.models import SkillSchedule
from skills.run_claims import slot_time
from skills.scheduler import SkillScheduler
from tests.conftest import ConsoleClient, free_port, make_settings
from tests.processes import installation, settings_values
from tests.test_bus import command
from tests.test_skill_support import dm_text

# -- where a role may run ------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.GATEWAY, Role.WORKER, Role.SCHEDULER])
def test_sqlite_allows_only_role_all(tmp_path: Path, role: Role) -> None:
    settings = make_settings(tmp_path, bus="redis")
    with pytest.raises(RoleError, match="needs PostgreSQL"):
        duties_of(role, settings)
    assert duties_of(Role.ALL, settings).consume


def test_split_roles_need_the_redis_bus(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url="postgres://u@127.0.0.1:5432/db")
    with pytest.raises(RoleError, match="APPRENTICE_BUS=redis"):
        duties_of(Role.WORKER, settings)


def test_run_says_why_a_role_cannot_run_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPRENTICE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    result = CliRunner().invoke(cli, ["run", "--role", "worker"])
    assert result.exit_code == 2
    assert "needs PostgreSQL" in result.output and "apprentice run" in result.output


def test_each_role_does_its_own_part() -> None:
    gateway, worker, scheduler, everything = (
        duties_of(role, Settings(database_url="postgres://u@h/db", bus="redis"))
        for role in (Role.GATEWAY, Role.WORKER, Role.SCHEDULER, Role.ALL)
    )
    assert (gateway.receive, gateway.consume, gateway.schedule) == (True, False, False)
    assert (worker.receive, worker.consume, worker.schedule) == (False, True, False)
    assert (scheduler.receive, scheduler.consume, scheduler.schedule) == (False, False, True)
    assert (everything.receive, everything.consume, everything.schedule) == (True, True, True)


def test_the_lock_connection_drops_tortoise_only_options() -> None:
    dsn = asyncpg_dsn("postgres://u:p@db:5432/app?minsize=1&maxsize=5&sslmode=require")
    assert dsn == "postgres://u:p@db:5432/app?sslmode=require"


# -- one run per slot ----------------------------------------------------------------------


def test_a_slot_is_the_triggers_own_fire_time() -> None:
    trigger = CronTrigger(day_of_week="fri", hour=17, minute=0, timezone="UTC")
    friday = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    grace = timedelta(hours=1)
    for late in (timedelta(seconds=0), timedelta(seconds=59), timedelta(minutes=40)):
        assert slot_time(trigger, friday + late, grace) == friday
    outside = friday + timedelta(hours=2)
    assert slot_time(trigger, outside, grace) == outside  # none in the grace: fired by hand


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", demo=True)


async def test_two_schedulers_firing_one_slot_run_it_once(
    app: Application, console: ConsoleClient, settings: Settings
) -> None:
    await dm_text(console, "alice", "/skill schedule weekly-report fri 17:00")
    row = await SkillSchedule.get(user_id="alice")
    published: list[str] = []

    async def record(event: Any) -> str:
        published.append(event.id)
        return "queued"

    first, second = SkillScheduler(settings), SkillScheduler(settings)
    await first.start(record)
    await second.start(record)
    try:
        results = await asyncio.gather(first.fire(row.id), second.fire(row.id))
    finally:
        await first.stop()
        await second.stop()
    assert sorted(map(str, results)) == ["None", "queued"] and len(published) == 1


async def test_a_schedule_written_elsewhere_is_picked_up_by_the_running_scheduler(
    app: Application, console: ConsoleClient, settings: Settings
) -> None:
    assert app.services is not None and app.services.skills is not None
    scheduler: SkillScheduler = app.services.skills.scheduler  # type: ignore[attr-defined]
    tenant = await app.services.directory.tenant("console", "local")
    row = await SkillSchedule.create(  # as a worker process would have, without this scheduler
        tenant=tenant, user_id="bob", skill_name="weekly-report", day_of_week="mon", hour=9,
        minute=0, timezone="UTC",
    )  # fmt: skip
    assert SkillScheduler.job_id(row.id) not in scheduler.job_ids()
    await scheduler.sync()
    assert SkillScheduler.job_id(row.id) in scheduler.job_ids()
    await row.delete()
    await scheduler.sync()
    assert SkillScheduler.job_id(row.id) not in scheduler.job_ids()


# -- roles over PostgreSQL and Redis -------------------------------------------------------


@pytest.fixture
async def shared(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """Settings values of one installation on a scratch PostgreSQL database and Redis."""
    async with installation(tmp_path / "data") as env:
        yield settings_values(env)


def role_app(values: dict[str, Any], role: Role) -> Application:
    return Application(Settings(**values, web_port=free_port()), role)


async def test_a_gateway_enqueues_and_a_worker_handles(shared: dict[str, Any]) -> None:
    gateway, worker = role_app(shared, Role.GATEWAY), role_app(shared, Role.WORKER)
    await gateway.start(serve_web=False)
    try:
        assert isinstance(gateway.bus, RedisStreamsBus)
        delivery = await gateway.bus.publish(command("alice", "/skill help"))
        stream = gateway.bus.stream_of(command("alice", "x"))
        assert await gateway.bus._unprocessed(stream) == 1  # nobody in the gateway reads it
        assert gateway.adapters == [] and not gateway.bus.held
        await worker.start(serve_web=False)
        assert await asyncio.wait_for(delivery, 60) == "handled"
    finally:
        await worker.stop()
        await gateway.stop()


async def test_one_scheduler_at_a_time_and_a_standby_takes_over(shared: dict[str, Any]) -> None:
    first, second = role_app(shared, Role.SCHEDULER), role_app(shared, Role.SCHEDULER)
    await first.start(serve_web=False)
    await second.start(serve_web=False)
    try:
        assert first.services is not None and second.services is not None
        one: Any = first.services.skills
        two: Any = second.services.skills
        assert one.scheduler.running and not two.scheduler.running
        await first.stop()  # lets the lock go: the standby starts scheduling
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120
        while not two.scheduler.running:
            assert loop.time() < deadline, "the standby never took over"
            await asyncio.sleep(0.05)
    finally:
        await second.stop()


async def test_the_advisory_lock_has_one_holder(shared: dict[str, Any]) -> None:
    settings = Settings(**shared)
    first, second = SchedulerLock(settings), SchedulerLock(settings)
    try:
        assert await first.try_acquire()
        assert not await second.try_acquire()
        await first.release()
        assert await second.try_acquire()
    finally:
        await first.release()
        await second.release()
