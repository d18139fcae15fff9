"""Exactly one scheduler at a time: a PostgreSQL session advisory lock.

The lock lives on a connection of its own (never one from tortoise's pool, where a session
lock would be released or shared by whichever query used that connection). A standby
process tries again every few seconds and starts scheduling when the holder is gone; if the
holder's connection is lost it stops being the scheduler at once (`on_lost`). Should two
schedulers ever overlap, each run slot is still claimed once (skills.run_claims).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from bot.logging import where
from bot.pg_locks import asyncpg_dsn
from bot.settings import Settings

log = structlog.get_logger(__name__)

LOCK_KEY = 0x41707072656E7469  # "Apprenti": one lock per database, whatever the tenant
CHECK_SECONDS = 5.0


class SchedulerLock:
    """Hold the scheduler lock while this process schedules; wait for it while another does."""

    def __init__(self, settings: Settings, check_seconds: float = CHECK_SECONDS) -> None:
        self._dsn = asyncpg_dsn(settings.db_url)
        self._check = check_seconds
        self._connection: asyncpg.Connection | None = None

    @property
    def held(self) -> bool:
        return self._connection is not None

    async def try_acquire(self) -> bool:
        """Take the lock if no other process holds it."""
        if self._connection is not None:
            return True
        connection = await asyncpg.connect(self._dsn, timeout=10)
        try:
            got = await connection.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY)
        except BaseException:
            await connection.close()
            raise
        if not got:
            await connection.close()
            return False
        self._connection = connection
        log.info("scheduler.lock_taken")
        return True

    async def hold(self, start: Callable[[], Awaitable[None]], on_lost: Callable[[], None]) -> None:
        """Wait for the lock, `start()` scheduling, then watch the lock until it is lost
        (then `on_lost()` and return) or this task is cancelled (then release it)."""
        try:
            while not self.held:
                try:
                    if await self.try_acquire():
                        break
                except Exception as exc:  # the database away for a moment: try again
                    log.error("scheduler.lock_error", error=type(exc).__name__, where=where(exc))
                await asyncio.sleep(self._check)
            await start()
            while True:
                await asyncio.sleep(self._check)
                assert self._connection is not None
                try:
                    await self._connection.fetchval("SELECT 1", timeout=self._check * 2)
                except Exception as exc:  # the lock went with the connection
                    log.error("scheduler.lock_lost", error=type(exc).__name__)
                    self._forget()
                    on_lost()
                    return
        finally:
            await self.release()

    async def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
            with contextlib.suppress(Exception):
                await connection.close()

    def _forget(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.terminate()
