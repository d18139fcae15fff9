"""The same migration files apply to SQLite and to PostgreSQL."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector

from bot.storage.database import close_database, open_database, tortoise_config
from bot.storage.models import ConsentEvent, Tenant
from tests.conftest import make_settings, service_unavailable

POSTGRES_URL = os.environ.get(
    "APPRENTICE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
TABLES = {
    "tenants",
    "people",
    "channels",
    "consent_events",
    "consent_prompts",
    "observations",
    "skills",
    "skill_versions",
    "skill_contributions",
    "audit_entries",
}


async def _roundtrip() -> None:
    tenant = await Tenant.create(platform="console", external_id="local")
    await ConsentEvent.create(
        tenant=tenant,
        user_id="alice",
        action="grant",
        purpose="observe",
        channels=["*"],
        notice_version="v1",
        notice_sha256="0" * 64,
        language="en",
        occurred_at=datetime.now(UTC),
        mechanism="button:consent.agree",
        mechanism_ref="evt-1",
    )
    assert await ConsentEvent.filter(tenant=tenant).count() == 1


async def test_migrations_apply_to_sqlite_twice(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    await open_database(settings)
    await close_database()
    await open_database(settings)  # the second start applies nothing and does not fail
    try:
        rows = await Tortoise.get_connection("default").execute_query_dict(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        )
        assert {r["name"] for r in rows} >= TABLES
        await _roundtrip()
    finally:
        await close_database()


@pytest.fixture
async def postgres_database() -> str:
    name = f"apprentice_test_{uuid.uuid4().hex[:8]}"
    admin_dsn = POSTGRES_URL.replace("postgres://", "postgresql://", 1)
    try:
        connection = await asyncpg.connect(admin_dsn, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        service_unavailable(f"PostgreSQL is not reachable at {POSTGRES_URL}: {type(exc).__name__}")
    await connection.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_URL.rsplit("/", 1)[0]
    # tortoise caches each table's INSERT SQL by connection name, not by dialect: a process
    # that switches from SQLite to PostgreSQL (only this test does) must drop that cache.
    EXECUTOR_CACHE.clear()
    try:
        yield f"{base}/{name}"
    finally:
        EXECUTOR_CACHE.clear()
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


async def test_migrations_apply_to_postgresql(tmp_path: Path, postgres_database: str) -> None:
    settings = make_settings(tmp_path, database_url=postgres_database)
    await open_database(settings)
    try:
        rows = await Tortoise.get_connection("default").execute_query_dict(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
        assert {r["tablename"] for r in rows} >= TABLES
        await _roundtrip()
    finally:
        await close_database()


async def test_models_and_migrations_agree(tmp_path: Path) -> None:
    """A model change without `make migrations` would reach users as a missing column."""
    config = tortoise_config(make_settings(tmp_path))
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        changes = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    assert changes == [], "models changed: run `make migrations NAME=what_changed`"
