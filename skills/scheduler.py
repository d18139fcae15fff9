"""`/skill schedule NAME fri 17:00`: APScheduler 3.x cron jobs, kept as rows in the database.

A job never calls a handler: it publishes a synthetic COMMAND event on the bus, as the
person, in their DM, so consent and routing are exactly those of a typed command.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.events import Actor, Command, Conversation, ConversationKind, Event, EventKind
from bot.settings import Settings
from bot.storage.models import SkillSchedule, Tenant
from skills.run_claims import claim, forget_old_claims, slot_time

log = structlog.get_logger(__name__)

Publish = Callable[[Event], Awaitable[Any]]
DAYS = {
    "mon": "mon",
    "tue": "tue",
    "wed": "wed",
    "thu": "thu",
    "fri": "fri",
    "sat": "sat",
    "sun": "sun",
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
    "daily": "*",
    "weekdays": "mon-fri",
}
MISFIRE_GRACE = timedelta(hours=1)
# Schedules made or removed in another process (a worker handled the command) reach the
# one running scheduler this often.
SYNC_SECONDS = 30
_TIME = re.compile(r"^(?P<h>[01]?\d|2[0-3])(?::(?P<m>[0-5]\d))?$")


class ScheduleError(ValueError):
    """The schedule was written wrong; the message says how to write it."""


def parse_when(day: str, time: str) -> tuple[str, int, int]:
    cron_day = DAYS.get(day.lower())
    match = _TIME.match(time)
    if cron_day is None or match is None:
        raise ScheduleError(
            "Write the day and time like `fri 17:00` (days: mon…sun, daily, weekdays; "
            "24-hour time)."
        )
    return cron_day, int(match["h"]), int(match["m"] or 0)


def synthetic_command(row: SkillSchedule, tenant: Tenant, fired_at: datetime) -> Event:
    """The event a scheduled run publishes: `/skill NAME` typed by the person in their DM
    (`/skill NAME #channel` when it was scheduled for a team's skill)."""
    pick = (f"#{row.channel}",) if row.channel else ()
    return Event(
        id=f"schedule-{row.id}-{fired_at:%Y%m%dT%H%M}",
        platform=tenant.platform,
        tenant=tenant.external_id,
        kind=EventKind.COMMAND,
        actor=Actor(id=row.user_id, name=row.user_id),
        conversation=Conversation(id=f"dm:{row.user_id}", kind=ConversationKind.DM),
        occurred_at=fired_at,
        text=" ".join(("/skill", row.skill_name, *pick)),
        command=Command(name=row.skill_name, args=pick, raw=" ".join(pick)),
    )


class SkillScheduler:
    def __init__(self, settings: Settings) -> None:
        self.timezone = settings.schedule_timezone
        self._scheduler = AsyncIOScheduler(timezone=self.timezone)
        self._publish: Publish | None = None

    async def start(self, publish: Publish) -> None:
        """Start, and register every schedule kept in the database."""
        self._publish = publish
        self._scheduler.start()
        rows = await SkillSchedule.all()
        for row in rows:
            self._register(row)
        self._scheduler.add_job(self.sync, "interval", seconds=SYNC_SECONDS, id="sync-schedules")
        log.info("scheduler.started", jobs=len(rows))

    async def sync(self) -> None:
        """Match the jobs to the rows in the database, whoever wrote them."""
        rows = {self.job_id(row.id): row for row in await SkillSchedule.all()}
        for job in self._scheduler.get_jobs():
            if job.id.startswith("skill-schedule-") and job.id not in rows:
                job.remove()
        for job_id, row in rows.items():
            job = self._scheduler.get_job(job_id)
            if job is None or str(job.trigger) != str(self._trigger(row)):
                self._register(row)
        await forget_old_claims(datetime.now(UTC))

    async def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    @property
    def running(self) -> bool:
        return self._scheduler.running

    async def add(
        self,
        tenant: Tenant,
        user_id: str,
        skill_name: str,
        day: str,
        time: str,
        channel: str = "",
    ) -> SkillSchedule:
        """Schedule (or move) one person's run of a skill; `channel` names the team's."""
        cron_day, hour, minute = parse_when(day, time)
        row, _ = await SkillSchedule.update_or_create(
            tenant=tenant,
            user_id=user_id,
            skill_name=skill_name,
            channel=channel,
            defaults={
                "day_of_week": cron_day,
                "hour": hour,
                "minute": minute,
                "timezone": self.timezone,
            },
        )
        if self._scheduler.running:
            self._register(row)
        return row

    async def remove(self, tenant: Tenant, user_id: str, skill_name: str | None) -> int:
        query = SkillSchedule.filter(tenant=tenant, user_id=user_id)
        if skill_name:
            query = query.filter(skill_name=skill_name)
        rows = await query
        for row in rows:
            job = self._scheduler.get_job(self.job_id(row.id))
            if job is not None:
                job.remove()
            await row.delete()
        return len(rows)

    def next_run(self, row: SkillSchedule) -> datetime | None:
        job = self._scheduler.get_job(self.job_id(row.id))
        if job is not None and job.next_run_time is not None:
            return job.next_run_time
        return self._trigger(row).get_next_fire_time(None, datetime.now(UTC))

    def job_ids(self) -> list[str]:
        return [
            job.id for job in self._scheduler.get_jobs() if job.id.startswith("skill-schedule-")
        ]

    @staticmethod
    def job_id(schedule_id: int) -> str:
        return f"skill-schedule-{schedule_id}"

    def _trigger(self, row: SkillSchedule) -> CronTrigger:
        return CronTrigger(
            day_of_week=row.day_of_week, hour=row.hour, minute=row.minute, timezone=row.timezone
        )

    def _register(self, row: SkillSchedule) -> None:
        self._scheduler.add_job(
            self.fire,
            self._trigger(row),
            args=[row.id],
            id=self.job_id(row.id),
            replace_existing=True,
            coalesce=True,
            misfire_grace_time=int(MISFIRE_GRACE.total_seconds()),
        )

    async def fire(self, schedule_id: int) -> Any:
        """Publish the person's command; returns the bus's Delivery (None when gone)."""
        row = await SkillSchedule.get_or_none(id=schedule_id).prefetch_related("tenant")
        if row is None or self._publish is None:
            return None
        slot = slot_time(self._trigger(row), datetime.now(UTC), MISFIRE_GRACE)
        event = synthetic_command(row, row.tenant, slot)
        if not await claim(event.id):  # another scheduler ran this slot already
            log.info("scheduler.slot_taken", schedule=row.id)
            return None
        log.info("scheduler.fired", schedule=row.id, skill=row.skill_name)
        return await self._publish(event)
