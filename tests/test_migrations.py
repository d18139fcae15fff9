"""The same migration files apply to SQLite and to PostgreSQL."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import TortoiseContext
from tortoise.exceptions import IntegrityError
from tortoise.migrations.api import migrate
from tortoise.migrations.autodetector import MigrationAutodetector

from bot.settings import Settings
from bot.storage.database import close_database, open_database, tortoise_config
from bot.storage.models import ConsentEvent, Skill, SkillSchedule, SkillVersion, Tenant
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


# -- 0003/0004: skills belong to a team ---------------------------------------------------------

BEFORE_TEAMS = "apprentice.0002_skill_examples_and_schedules"


async def _execute(sql: str, *values: object) -> list[dict]:
    """Raw SQL for a schema older than the models: `?` placeholders on either database."""
    connection = Tortoise.get_connection("default")
    if connection.capabilities.dialect == "postgres":
        parts = sql.split("?")
        sql = parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))
    return await connection.execute_query_dict(sql, list(values))


async def _seed_one_workspace_wide_skill() -> dict[str, int]:
    """What 0002 held: one code-review learned from #checkout, one imported skill, a schedule."""
    now = datetime.now(UTC)
    await _execute(
        "INSERT INTO tenants (platform, external_id, created_at) VALUES (?, ?, ?)",
        "console",
        "local",
        now,
    )
    tenant = (await _execute("SELECT id FROM tenants"))[0]["id"]
    alice = str(uuid.uuid4())
    await _execute(
        "INSERT INTO people (id, tenant_id, user_id, display_name, wrapped_key, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        alice,
        tenant,
        "alice",
        "",
        b"key",
        now,
    )
    for channel_id in ("checkout", "payments"):
        await _execute(
            "INSERT INTO channels (tenant_id, channel_id, name, observed) VALUES (?, ?, ?, ?)",
            tenant,
            channel_id,
            channel_id,
            True,
        )
    checkout = (await _execute("SELECT id FROM channels WHERE channel_id = ?", "checkout"))[0]
    observations = [str(uuid.uuid4()) for _ in range(2)]
    for number, observation in enumerate(observations):
        await _execute(
            "INSERT INTO observations (id, tenant_id, person_id, channel_id, message_id, "
            "occurred_at, ciphertext, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            observation,
            tenant,
            alice,
            checkout["id"],
            f"m{number}",
            now,
            b"sealed",
            now,
        )
    ids = {}
    for name, kind, inputs in (
        ("code-review", "code-review", [*observations, "example:1"]),
        ("release-notes", "template", []),
    ):
        await _execute(
            "INSERT INTO skills (tenant_id, name, kind, description, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            tenant,
            name,
            kind,
            "",
            now,
        )
        ids[name] = (await _execute("SELECT id FROM skills WHERE name = ?", name))[0]["id"]
        for number, provenance in ((1, {"inputs": inputs}), (2, {})):  # v2 was retired
            await _execute(
                "INSERT INTO skill_versions (skill_id, number, status, artifact, provenance, "
                "run_count, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                ids[name],
                number,
                "published" if number == 1 else "retired",
                json.dumps({"kind": kind}),
                json.dumps(provenance),
                0,
                now,
            )
    await _execute(
        "INSERT INTO skill_schedules (tenant_id, user_id, skill_name, day_of_week, hour, minute, "
        "timezone, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        tenant,
        "alice",
        "code-review",
        "fri",
        17,
        0,
        "UTC",
        now,
    )
    return ids


async def _an_old_single_skill_gets_its_team(settings: Settings) -> None:
    await migrate(config=tortoise_config(settings), target=BEFORE_TEAMS)
    ids = await _seed_one_workspace_wide_skill()
    await close_database()
    await open_database(settings)  # applies 0003 and 0004
    try:
        review = await Skill.get(id=ids["code-review"])
        imported = await Skill.get(id=ids["release-notes"])
        assert review.team == "checkout"  # the channel its observations came from
        assert imported.team == ""  # no observation behind it: workspace-wide
        assert await SkillVersion.filter(skill=review).count() == 2  # versions survive
        schedule = await SkillSchedule.get(user_id="alice")
        assert schedule.skill_name == "code-review" and schedule.channel == ""
        # Now another team may have its own code-review, and still only one per team.
        payments = await Skill.create(
            tenant_id=review.tenant_id, name="code-review", kind="code-review", team="payments"
        )
        assert payments.id != review.id
        with pytest.raises(IntegrityError):
            await Skill.create(
                tenant_id=review.tenant_id, name="code-review", kind="code-review", team="checkout"
            )
        await review.delete()  # the rebuilt table still cascades to its versions
        assert await SkillVersion.filter(skill_id=ids["code-review"]).count() == 0
    finally:
        await close_database()


async def test_an_old_single_skill_gets_its_team_on_sqlite(tmp_path: Path) -> None:
    await _an_old_single_skill_gets_its_team(make_settings(tmp_path))


async def test_an_old_single_skill_gets_its_team_on_postgresql(
    tmp_path: Path, postgres_database: str
) -> None:
    await _an_old_single_skill_gets_its_team(
        make_settings(tmp_path, database_url=postgres_database)
    )
