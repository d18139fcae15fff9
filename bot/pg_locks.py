"""PostgreSQL session advisory locks, each on a connection of its own (never one from
tortoise's pool, where a session lock would be shared by whatever query used it next)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

MIGRATIONS_LOCK = 0x4170707265_4D4947  # "Appre" "MIG": one process migrates at a time
_TORTOISE_ONLY = {"minsize", "maxsize", "max_queries", "max_inactive_connection_lifetime"}


def asyncpg_dsn(db_url: str) -> str:
    """The database URL without the options only tortoise-orm understands."""
    parts = urlsplit(db_url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in _TORTOISE_ONLY]
    return urlunsplit(parts._replace(query=urlencode(query)))


@contextlib.asynccontextmanager
async def holding(db_url: str, key: int) -> AsyncIterator[None]:
    """Wait for the lock, hold it inside the block (processes starting together take turns)."""
    connection = await asyncpg.connect(asyncpg_dsn(db_url), timeout=30)
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", key)
        yield
    finally:
        await connection.close()  # closing the session releases its locks
