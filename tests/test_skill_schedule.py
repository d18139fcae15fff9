"""`/skill schedule`: persisted cron jobs that publish the person's command on the bus."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.app import Application
from bot.settings import Settings
from bot.storage.models import SkillSchedule
from skills.scheduler import SkillScheduler
from tests.conftest import ConsoleClient, make_settings
from tests.test_skill_support import dm_text, rows


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path / "data", demo=True)


async def test_schedule_is_stored_and_registered_for_friday_at_five(
    app: Application, console: ConsoleClient
) -> None:
    text = await dm_text(console, "alice", "/skill schedule weekly-report fri 17:00")
    assert "every fri at 17:00 UTC" in text and "The next one is Fri" in text
    row = await SkillSchedule.get(user_id="alice")
    assert (row.skill_name, row.day_of_week, row.hour, row.minute) == (
        "weekly-report",
        "fri",
        17,
        0,
    )
    scheduler = app.services.skills.scheduler
    assert SkillScheduler.job_id(row.id) in scheduler.job_ids()
    assert scheduler.next_run(row).strftime("%a %H:%M") == "Fri 17:00"


async def test_a_fired_schedule_dms_the_person_their_draft(
    app: Application, console: ConsoleClient
) -> None:
    await dm_text(console, "alice", "/skill schedule weekly-report fri 17:00")
    row = await SkillSchedule.get(user_id="alice")
    delivery = await app.services.skills.scheduler.fire(row.id)
    assert await asyncio.wait_for(delivery, 10) == "handled"
    last = app.console.messages("dm:alice")[-1]
    assert last.is_bot and last.text.startswith("Weekly report ") and "*Done*" in last.text


async def test_schedules_are_registered_again_at_start_up(
    app: Application, console: ConsoleClient
) -> None:
    await dm_text(console, "alice", "/skill schedule weekly-report fri 17:00")
    await app.stop()
    again = Application(app.settings)
    await again.start(serve_web=False)
    try:
        row = await SkillSchedule.get(user_id="alice")
        assert SkillScheduler.job_id(row.id) in again.services.skills.scheduler.job_ids()
    finally:
        await again.stop()


async def test_unschedule_removes_the_row_and_the_job(
    app: Application, console: ConsoleClient
) -> None:
    await dm_text(console, "alice", "/skill schedule weekly-report fri 17:00")
    text = await dm_text(console, "alice", "/skill unschedule weekly-report")
    assert "Stopped 1 scheduled run(s)" in text
    assert await rows("SELECT id FROM skill_schedules") == []
    assert app.services.skills.scheduler.job_ids() == []


async def test_a_badly_written_time_says_how_to_write_it(console: ConsoleClient) -> None:
    text = await dm_text(console, "alice", "/skill schedule weekly-report friday 25:00")
    assert "like `fri 17:00`" in text


async def test_forget_removes_the_persons_schedules_and_jobs(
    app: Application, console: ConsoleClient
) -> None:
    await dm_text(console, "alice", "/skill schedule weekly-report fri 17:00")
    row = await SkillSchedule.get(user_id="alice")
    await dm_text(console, "alice", "/skill forget")
    assert not await SkillSchedule.exists(user_id="alice")
    assert SkillScheduler.job_id(row.id) not in app.services.skills.scheduler.job_ids()


async def test_mydata_lists_the_persons_schedules(console: ConsoleClient) -> None:
    await dm_text(console, "alice", "/skill schedule weekly-report fri 17:00")
    replies = await console.say("alice", "dm:alice", "/skill mydata")
    assert "your schedules: weekly-report fri 17:00 UTC" in replies[0]["text"]
    export = json.loads(replies[0]["attachment"]["content"])
    assert export["schedules"] == ["weekly-report fri 17:00 UTC"]
