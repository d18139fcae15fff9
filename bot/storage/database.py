"""Open the database, apply migrations, close it."""

from __future__ import annotations

from typing import Any

import structlog
from tortoise import Tortoise
from tortoise.migrations.api import migrate

from bot.pg_locks import MIGRATIONS_LOCK, holding
from bot.settings import Settings

log = structlog.get_logger(__name__)

APP_LABEL = "apprentice"
MODELS_MODULE = "bot.storage.models"
MIGRATIONS_MODULE = "migrations"


def tortoise_config(settings: Settings) -> dict[str, Any]:
    """tortoise-orm's config for these settings (used by the app, the CLI and makemigrations)."""
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        connection: str | dict[str, Any] = {
            "engine": "tortoise.backends.sqlite",
            "credentials": {
                "file_path": settings.db_url.removeprefix("sqlite://"),
                # Deleted rows are overwritten with zeros, so an erased person's ciphertext
                # does not linger in free pages of the file.
                "secure_delete": "ON",
                # WAL with NORMAL sync survives an application crash without loss; a power
                # cut may lose the last commits. FULL (an fsync per commit) made every
                # stored message cost a disk flush: ~3x slower (bench/pipeline_bench.py).
                "synchronous": "NORMAL",
            },
        }
    else:
        connection = settings.db_url
    return {
        "connections": {"default": connection},
        "apps": {
            APP_LABEL: {
                "models": [MODELS_MODULE],
                "migrations": MIGRATIONS_MODULE,
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def upgrade(settings: Settings) -> None:
    """Apply every migration not yet applied."""
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(name)

    if settings.is_sqlite:
        await migrate(config=tortoise_config(settings), progress=progress)
    else:  # several processes (roles, replicas) start together: one migrates at a time
        async with holding(settings.db_url, MIGRATIONS_LOCK):
            await migrate(config=tortoise_config(settings), progress=progress)
    if applied:
        log.info("db.migrated", applied=applied)


async def open_database(settings: Settings) -> None:
    """Connect and bring the schema up to date (idempotent)."""
    await upgrade(settings)
    await Tortoise.init(config=tortoise_config(settings))


async def close_database() -> None:
    await Tortoise.close_connections()
