"""`apprentice run --role gateway|worker|scheduler|all`: what one process does.

- gateway: the platforms' side only — verify, enqueue on the Redis bus, ack. It never runs
  the pipeline, so an ack never waits for work.
- worker: takes events off the bus and runs the pipeline (gate, store, commands); it sends
  replies through the adapters but does not receive from the platforms.
- scheduler: runs the skill schedules (one at a time: bot.scheduler_lock) and publishes
  their synthetic commands on the bus.
- all (the default): everything in one process, with any bus and database.

Splitting roles needs processes that share state: the Redis bus and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.settings import Settings


class Role(StrEnum):
    GATEWAY = "gateway"
    WORKER = "worker"
    SCHEDULER = "scheduler"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class Duties:
    receive: bool  # run the adapters' receiving side (webhooks, sockets, the console)
    consume: bool  # run the pipeline on the bus's events
    schedule: bool  # run the skill schedules (when this process holds the scheduler lock)


DUTIES = {
    Role.GATEWAY: Duties(receive=True, consume=False, schedule=False),
    Role.WORKER: Duties(receive=False, consume=True, schedule=False),
    Role.SCHEDULER: Duties(receive=False, consume=False, schedule=True),
    Role.ALL: Duties(receive=True, consume=True, schedule=True),
}


class RoleError(ValueError):
    """This role cannot run with these settings; the message says what to change."""


def duties_of(role: Role, settings: Settings) -> Duties:
    """What a process of this role does, or a RoleError saying why it cannot run here."""
    if role is not Role.ALL:
        if settings.is_sqlite:
            raise RoleError(
                f"--role {role.value} needs PostgreSQL: a SQLite file belongs to one process. "
                "Run `apprentice run` (role all) here, or set DATABASE_URL to a PostgreSQL "
                "database shared by every process."
            )
        if settings.bus != "redis":
            raise RoleError(
                f"--role {role.value} needs the Redis bus, which the processes share: set "
                "APPRENTICE_BUS=redis and REDIS_URL (or run `apprentice run`, role all)."
            )
    return DUTIES[role]
