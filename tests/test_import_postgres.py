"""History import on PostgreSQL, and a row the live bot stored meanwhile, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import ClientSession

from bot.app import Application
from bot.consent.gate import ObservedMessage
from bot.imports.jsonl import import_messages, parse_line
from bot.imports.runner import import_session
from bot.settings import Settings
from bot.storage.models import Observation
from tests import test_migrations
from tests.conftest import ConsoleClient, make_settings
from tests.imports_support import agree_to_history, quiet_console
from tests.test_import_messages import MIXED, line, write_jsonl

postgres_database = test_migrations.postgres_database  # a fresh database, dropped afterwards


async def consented(tmp_path: Path, database_url: str | None) -> Settings:
    """#team observed; alice agreed to observation and history, bob to observation only."""
    settings = make_settings(tmp_path / "data", database_url=database_url)
    app = Application(settings)
    await app.start()
    try:
        async with ClientSession() as session:
            console = ConsoleClient(session, f"http://127.0.0.1:{settings.web_port}")
            await console.say("admin", "team", "/skill admin observe #team")
            await console.opt_in("alice")
            await agree_to_history(console, "alice")
            await console.opt_in("bob")
    finally:
        await app.stop()
    return settings


async def stored(settings: Settings) -> list[str]:
    async with import_session(settings):
        return sorted(await Observation.all().values_list("message_id", flat=True))


async def test_postgres_import_keeps_history_consent_only_and_imports_once(
    tmp_path: Path, postgres_database: str
) -> None:
    await imports_once(await consented(tmp_path, postgres_database), tmp_path)


async def test_sqlite_import_keeps_history_consent_only_and_imports_once(tmp_path: Path) -> None:
    await imports_once(await consented(tmp_path, None), tmp_path)


async def test_postgres_skips_a_message_stored_meanwhile(
    tmp_path: Path, postgres_database: str
) -> None:
    await skips_stored_meanwhile(await consented(tmp_path, postgres_database))


async def test_sqlite_skips_a_message_stored_meanwhile(tmp_path: Path) -> None:
    await skips_stored_meanwhile(await consented(tmp_path, None))


async def imports_once(database: Settings, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "m.jsonl", MIXED)
    first = await import_messages(database, path, quiet_console())
    assert first["stored"] == 2 and first["author_has_no_history_grant"] == 1
    write_jsonl(path, [*MIXED, line("alice", "team", "one more", "j-alice-6")])
    again = await import_messages(database, path, quiet_console())
    assert again["stored"] == 1 and again["already_stored"] == 2
    assert await stored(database) == ["j-alice-1", "j-alice-2", "j-alice-6"]


async def skips_stored_meanwhile(database: Settings) -> None:
    """A row the live bot wrote between the lookup and the insert: skipped, not fatal."""
    events = [parse_line(json.dumps(item).encode(), i) for i, item in enumerate(MIXED[:2])]
    async with import_session(database) as importer:
        gate, writer = importer._gate, importer._writer  # noqa: SLF001 - the parts under test
        verdicts = await gate.admit_history([e for e in events if e is not None])
        admitted = [v for v in verdicts if isinstance(v, ObservedMessage)]
        assert await writer.write(admitted[:1]) == 1  # "the live bot" stores one first
        assert await writer.write(admitted) == 1  # the batch still goes in, minus that one
    assert await stored(database) == ["j-alice-1", "j-alice-2"]
