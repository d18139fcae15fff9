"""The audit log: a tamper-evident HMAC chain with pseudonymous ids, a head and checkpoints."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from aiohttp import ClientSession
from tortoise import Tortoise
from typer.testing import CliRunner, Result

from bot.app import Application
from bot.audit import AuditLog, public_key_text
from bot.cli import app as cli
from bot.settings import Settings
from bot.storage.database import close_database, open_database
from bot.storage.models import AuditEntry, AuditHead
from tests.conftest import ConsoleClient, make_settings
from tests.test_migrations import postgres_database  # noqa: F401 - a fixture

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def audit_of(app: Application) -> AuditLog:
    assert app.services is not None
    return app.services.audit


async def log_three(audit: AuditLog) -> None:
    await audit.record("console", "local", "channel.observe", "admin", channel="team")
    await audit.record("console", "local", "consent.grant", "alice", purpose="observe")
    await audit.record("console", "local", "person.erased", "alice", "alice", observations=1)


async def sql(query: str) -> None:
    await Tortoise.get_connection("default").execute_query(query)


async def test_untouched_chain_verifies(app: Application) -> None:
    audit = audit_of(app)
    await log_three(audit)
    result = await audit.verify()
    assert result.ok and result.entries == 3


async def test_edited_entry_breaks_the_chain_there(app: Application) -> None:
    audit = audit_of(app)
    await log_three(audit)
    second = await AuditEntry.all().order_by("id").offset(1).first()
    assert second is not None
    second.detail = {"purpose": "model"}
    await second.save()
    result = await audit.verify()
    assert not result.ok and result.first_bad_id == second.id


async def test_deleted_entry_breaks_the_chain(app: Application) -> None:
    audit = audit_of(app)
    await log_three(audit)
    await sql("DELETE FROM audit_entries WHERE id = (SELECT MIN(id) FROM audit_entries)")
    assert not (await audit.verify()).ok


async def test_deleting_the_last_entries_is_caught(app: Application) -> None:
    audit = audit_of(app)
    await log_three(audit)
    last = await AuditEntry.all().order_by("-id").first()
    assert last is not None
    await sql(f"DELETE FROM audit_entries WHERE id = {last.id}")
    result = await audit.verify()
    assert not result.ok
    assert result.first_bad_id == last.id and "cut short" in (result.problem or "")


async def test_deleting_every_entry_is_caught(app: Application) -> None:
    audit = audit_of(app)
    await log_three(audit)
    await sql("DELETE FROM audit_entries")
    result = await audit.verify()
    assert not result.ok and result.entries == 0 and "cut short" in (result.problem or "")


async def test_deleting_the_head_as_well_is_caught(app: Application) -> None:
    audit = audit_of(app)
    await log_three(audit)
    await sql("DELETE FROM audit_entries WHERE id = (SELECT MAX(id) FROM audit_entries)")
    await sql("DELETE FROM audit_head")
    assert "head is missing" in ((await audit.verify()).problem or "")
    # Writing on does not make the loss go away: the recreated head says so.
    await audit.record("console", "local", "channel.observe", "admin", channel="ops")
    result = await audit.verify()
    assert not result.ok and "recreated" in (result.problem or "")


async def test_edited_head_is_caught(app: Application) -> None:
    audit = audit_of(app)
    await log_three(audit)
    await sql("UPDATE audit_head SET entries = entries + 1")
    result = await audit.verify()
    assert not result.ok and "head was altered" in (result.problem or "")


async def test_people_appear_only_as_stable_pseudonyms(app: Application) -> None:
    await log_three(audit_of(app))
    rows = await AuditEntry.all().order_by("id")
    assert all("alice" not in (r.actor + (r.subject or "")) for r in rows)
    assert rows[1].actor == rows[2].actor == rows[2].subject


# --------------------------------------------------------------------------- checkpoints


@pytest.fixture
def checkpointing(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", audit_checkpoint_every=2)


async def test_checkpoints_are_signed_lines_in_their_own_file(checkpointing: Settings) -> None:
    app = Application(checkpointing)
    await app.start(serve_web=False, adapters=False)
    try:
        await log_three(audit_of(app))
        lines = checkpointing.checkpoint_file.read_text().splitlines()
        assert app.services is not None
        public = public_key_text(app.services.vault.audit_signing_seed)
        assert (await audit_of(app).verify(public_key=public)).ok
    finally:
        await app.stop()
    assert len(lines) == 1  # entry #2; #1 and #3 are not multiples of 2
    assert json.loads(lines[0])["entries"] == 2 and json.loads(lines[0])["signature"]
    assert checkpointing.checkpoint_file.stat().st_mode & 0o777 == 0o600


async def test_a_wiped_and_restarted_log_does_not_match_its_checkpoint(
    checkpointing: Settings,
) -> None:
    app = Application(checkpointing)
    await app.start(serve_web=False, adapters=False)
    try:
        audit = audit_of(app)
        await log_three(audit)
        await sql("DELETE FROM audit_entries")
        await sql("DELETE FROM audit_head")
        await audit.record("console", "local", "channel.observe", "admin", channel="team")
        result = await audit.verify()
    finally:
        await app.stop()
    assert not result.ok and "checkpoint" in (result.problem or "")


async def test_an_edited_checkpoint_fails_its_signature(checkpointing: Settings) -> None:
    app = Application(checkpointing)
    await app.start(serve_web=False, adapters=False)
    try:
        audit = audit_of(app)
        await log_three(audit)
        line = json.loads(checkpointing.checkpoint_file.read_text())
        line["entries"] = 1
        checkpointing.checkpoint_file.write_text(json.dumps(line) + "\n")
        result = await audit.verify()
    finally:
        await app.stop()
    assert not result.ok and "not validly signed" in (result.problem or "")


# --------------------------------------------------------------------------- one writer


def run_two_writers(url: str, data_dir: Path, mac: bytes, pseudo: bytes, count: int) -> None:
    barrier = data_dir / "barrier"
    barrier.mkdir(parents=True)
    args = [url, str(data_dir), str(count), mac.hex(), pseudo.hex(), str(barrier)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    writers = [
        subprocess.Popen([sys.executable, "-m", "tests.audit_writer", *args], cwd=ROOT, env=env)
        for _ in range(2)
    ]
    assert [w.wait() for w in writers] == [0, 0]


async def two_processes_keep_one_chain(settings: Settings, url: str) -> None:
    await open_database(settings)
    mac, pseudo = os.urandom(32), os.urandom(32)
    try:
        await AuditLog(mac, pseudo).ensure_head(fresh_keys=True)
        await close_database()
        await asyncio.to_thread(run_two_writers, url, settings.data_dir, mac, pseudo, 100)
        await open_database(settings)
        result = await AuditLog(mac, pseudo).verify()
        assert result.ok, result.problem
        assert result.entries == 200
        head = await AuditHead.get(id=1)
        assert head.entries == 200
    finally:
        await close_database()


async def test_two_processes_writing_at_once_on_sqlite_keep_one_chain(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    await two_processes_keep_one_chain(settings, f"sqlite://{settings.sqlite_path}")


async def test_two_processes_writing_at_once_on_postgresql_keep_one_chain(
    tmp_path: Path,
    postgres_database: str,  # noqa: F811 - the fixture
) -> None:
    settings = make_settings(tmp_path / "data", database_url=postgres_database)
    await two_processes_keep_one_chain(settings, postgres_database)


# --------------------------------------------------------------------------- the CLI


def verify_after(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, change: Callable[[], Awaitable[T]]
) -> tuple[T, Result]:
    """Log three entries in an install at `data_dir`, `change` its database, run the CLI."""
    monkeypatch.setenv("APPRENTICE_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DATABASE_URL", raising=False)

    async def tamper() -> T:
        app = Application(make_settings(data_dir))
        await app.start(serve_web=False, adapters=False)
        try:
            await log_three(audit_of(app))
            return await change()
        finally:
            await app.stop()

    changed = asyncio.run(tamper())
    return changed, CliRunner().invoke(cli, ["audit", "verify"], env={"COLUMNS": "200"})


def test_audit_verify_names_the_first_bad_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def edit_the_second() -> int:
        second = await AuditEntry.all().order_by("id").offset(1).first()
        assert second is not None
        second.action = "consent.withdraw"
        await second.save()
        return second.id

    bad_id, result = verify_after(tmp_path / "data", monkeypatch, edit_the_second)
    assert result.exit_code == 1
    assert f"BROKEN at entry #{bad_id} (consent.withdraw" in result.output
    assert "was altered" in result.output


def test_audit_verify_reports_a_truncated_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, result = verify_after(
        tmp_path / "data", monkeypatch, lambda: sql("DELETE FROM audit_entries")
    )
    assert result.exit_code == 1 and "cut short" in result.output


async def test_admin_status_says_what_is_wrong_with_the_chain(app: Application) -> None:
    await log_three(audit_of(app))
    await sql("DELETE FROM audit_entries WHERE id = (SELECT MAX(id) FROM audit_entries)")
    async with ClientSession() as session:
        console = ConsoleClient(session, f"http://{app.settings.web_host}:{app.settings.web_port}")
        replies = await console.say("admin", "team", "/skill admin status")
    status = next(r["text"] for r in replies if "Apprentice status" in r["text"])
    assert "audit chain: BROKEN at entry" in status and "cut short" in status
