"""A scheduled run happens once per slot, whichever scheduler fires it.

The slot is the trigger's own fire time (the latest at or before now), not the moment the
job happened to run: two schedulers that overlap — one taking over a lock, one late by a
misfire grace — name it alike, and the unique row lets only the first claim run it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from tortoise.exceptions import IntegrityError

from bot.storage.models import ScheduledRunClaim

KEEP_CLAIMS = timedelta(days=8)  # longer than a week's schedules and any misfire grace


def slot_time(trigger: CronTrigger, now: datetime, grace: timedelta) -> datetime:
    """The trigger's latest fire time in (now - grace, now]; `now` when it has none."""
    latest = None
    moment = trigger.get_next_fire_time(None, now - grace)
    while moment is not None and moment <= now:
        latest = moment
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return latest or now


async def claim(slot: str) -> bool:
    """True for the one caller that claims the slot first; False for every other."""
    try:
        await ScheduledRunClaim.create(slot=slot)
    except IntegrityError:
        return False
    return True


async def forget_old_claims(now: datetime) -> int:
    """Claims of slots long past: no scheduler will fire those again."""
    return await ScheduledRunClaim.filter(claimed_at__lt=now - KEEP_CLAIMS).delete()
