"""Open the database, apply migrations, close it."""

from __future__ import annotations

import os
from pathlib import Path
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
        secure_sqlite_files(settings.data_dir, Path(settings.db_url.removeprefix("sqlite://")))
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


SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def secure_sqlite_files(data_dir: Path, db_file: Path) -> None:
    """The data directory 0700, the database file and its -wal/-shm/-journal 0600.

    The file is made (empty, 0600) before SQLite opens it: SQLite gives the -wal and -shm
    files it creates later the mode of the database file. Files of an older install are
    narrowed in place.
    """
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    _narrow(data_dir, 0o700)
    if str(db_file) in ("", ":memory:"):
        return
    db_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not db_file.exists():
        os.close(os.open(db_file, os.O_WRONLY | os.O_CREAT, 0o600))
    for suffix in SQLITE_SUFFIXES:
        path = db_file.with_name(db_file.name + suffix)
        if path.exists():
            _narrow(path, 0o600)


def _narrow(path: Path, mode: int) -> None:
    if path.stat().st_mode & 0o777 == mode:
        return
    try:
        path.chmod(mode)
    except PermissionError:
        # e.g. a volume whose root belongs to another user (Kubernetes fsGroup): start, but say so.
        log.warning(
            "storage.mode_not_narrowed",
            path=str(path),
            mode=oct(path.stat().st_mode & 0o777),
            advice=f"make it {oct(mode)} and owned by the user Apprentice runs as",
        )


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
