"""Key separation and master key rotation: `apprentice keys rotate` re-wraps, nothing else moves."""

from __future__ import annotations

import asyncio
import base64
import os
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from aiohttp import ClientSession
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from tortoise import Tortoise
from typer.testing import CliRunner

from bot.app import Application
from bot.audit import AuditLog
from bot.cli import app as cli
from bot.settings import Settings
from bot.storage.database import close_database, open_database
from bot.storage.models import Person
from bot.storage.vault import Vault, VaultError
from tests.conftest import ConsoleClient, make_settings

T = TypeVar("T")
WORDS = "Weekly report: the importer shipped, retries are next"


def hkdf(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


async def running(settings: Settings, work: Callable[[Application], Awaitable[T]]) -> T:
    app = Application(settings)
    await app.start()
    try:
        return await work(app)
    finally:
        await app.stop()


def services(app: Application):  # noqa: ANN201 - the Services of a started app
    assert app.services is not None
    return app.services


async def console_of(app: Application) -> tuple[ClientSession, ConsoleClient]:
    session = ClientSession()
    return session, ConsoleClient(
        session, f"http://{app.settings.web_host}:{app.settings.web_port}"
    )


# --------------------------------------------------------------------------- separation


async def test_service_keys_are_random_and_not_derived_from_the_master_key(
    tmp_path: Path,
) -> None:
    master = os.urandom(32)
    configured = base64.b64encode(master).decode()

    async def keys(app: Application) -> tuple[bytes, bytes, bytes, bytes]:
        vault = services(app).vault
        return vault.audit_key, vault.pseudonym_key, vault.cookie_key, vault.audit_signing_seed

    first = await running(make_settings(tmp_path / "a", master_key=configured), keys)
    second = await running(make_settings(tmp_path / "b", master_key=configured), keys)
    assert len(set(first)) == 4  # four purposes, four keys
    assert not set(first) & set(second)  # the same master key, other keys
    assert hkdf(master, b"apprentice audit chain") not in first
    assert hkdf(master, b"apprentice pseudonyms") not in first


async def test_service_keys_are_stored_wrapped_and_survive_a_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")

    async def keys(app: Application) -> tuple[bytes, bytes]:
        return services(app).vault.audit_key, services(app).vault.cookie_key

    before = await running(settings, keys)
    assert await running(settings, keys) == before
    stored = settings.sqlite_path.read_bytes()
    assert all(key not in stored for key in before)


async def test_an_audit_log_older_than_its_own_keys_still_verifies(tmp_path: Path) -> None:
    """An install that had audit entries under the derived keys keeps those values."""
    master = os.urandom(32)
    settings = make_settings(tmp_path / "data", master_key=base64.b64encode(master).decode())
    await open_database(settings)
    try:
        legacy = AuditLog(
            hkdf(master, b"apprentice audit chain"), hkdf(master, b"apprentice pseudonyms")
        )
        await legacy.record("console", "local", "consent.grant", "alice", purpose="observe")
        await legacy.record("console", "local", "channel.observe", "admin", channel="team")
        # What the database held before service keys and the head existed.
        connection = Tortoise.get_connection("default")
        await connection.execute_query("DELETE FROM audit_head")
        await connection.execute_query("DELETE FROM service_keys")
    finally:
        await close_database()

    async def verify(app: Application) -> tuple[bool, str | None, int]:
        result = await services(app).audit.verify()
        return result.ok, result.problem, result.entries

    assert await running(settings, verify) == (True, None, 2)


# --------------------------------------------------------------------------- rotation


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("APPRENTICE_DATA_DIR", str(data_dir))
    for name in ("DATABASE_URL", "APPRENTICE_MASTER_KEY", "APPRENTICE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return make_settings(data_dir)


async def alice_says_something(app: Application) -> bytes:
    session, console = await console_of(app)
    async with session:
        await console.say("admin", "team", "/skill admin observe #team")
        await console.opt_in("alice")
        await console.say("alice", "team", WORDS)
    return services(app).vault.audit_key


async def what_alice_has(app: Application) -> tuple[list[str], bool, bytes]:
    person = await Person.get(user_id="alice")
    texts = [o.text for o in await services(app).observations.read(person)]
    return texts, (await services(app).audit.verify()).ok, services(app).vault.audit_key


def test_rotation_rewraps_every_key_and_old_data_still_opens(cli_env: Settings) -> None:
    audit_key = asyncio.run(running(cli_env, alice_says_something))
    old_master = base64.b64decode(cli_env.key_file.read_text())

    result = CliRunner().invoke(cli, ["keys", "rotate"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Re-wrapped 1 data keys and 4 service keys" in result.output
    new_master = base64.b64decode(cli_env.key_file.read_text())
    assert new_master != old_master and not Path(f"{cli_env.key_file}.next").exists()
    assert cli_env.key_file.stat().st_mode & 0o777 == 0o600

    texts, chain_ok, audit_key_after = asyncio.run(running(cli_env, what_alice_has))
    assert texts == [WORDS]  # old ciphertexts, untouched, open under the re-wrapped key
    assert chain_ok and audit_key_after == audit_key

    async def old_key_opens_nothing() -> None:
        await open_database(cli_env)
        try:
            person = await Person.get(user_id="alice")
            with pytest.raises(VaultError):
                Vault(old_master).unwrap(person.wrapped_key, f"{person.tenant_id}|{person.id}")
            with pytest.raises(VaultError):
                await Vault(old_master).load_service_keys()
        finally:
            await close_database()

    asyncio.run(old_key_opens_nothing())


def test_rotation_with_the_key_in_the_environment_writes_the_new_key_to_a_file(
    cli_env: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    old = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("APPRENTICE_MASTER_KEY", old)
    settings = make_settings(cli_env.data_dir, master_key=old)
    asyncio.run(running(settings, alice_says_something))

    refused = CliRunner().invoke(cli, ["keys", "rotate"], env={"COLUMNS": "200"})
    assert refused.exit_code == 1 and "--new-key-file" in refused.output

    target = tmp_path / "new.key"
    done = CliRunner().invoke(
        cli, ["keys", "rotate", "--new-key-file", str(target)], env={"COLUMNS": "200"}
    )
    assert done.exit_code == 0, done.output
    assert target.stat().st_mode & 0o777 == 0o600
    renewed = make_settings(cli_env.data_dir, master_key=target.read_text().strip())
    texts, chain_ok, _ = asyncio.run(running(renewed, what_alice_has))
    assert texts == [WORDS] and chain_ok
    with pytest.raises(VaultError):
        asyncio.run(running(settings, what_alice_has))
    # Refused at start, it left no database connection (whose thread would block the exit).
    assert [t for t in threading.enumerate() if not t.daemon] == [threading.main_thread()]


def test_an_interrupted_rotation_is_finished_by_running_it_again(cli_env: Settings) -> None:
    asyncio.run(running(cli_env, alice_says_something))
    # The new key was written, the database re-wrapped, and then the process died.
    from bot.storage.key_rotation import next_key_path, rewrap_all  # noqa: PLC0415
    from bot.storage.vault import read_key_file, write_key_file  # noqa: PLC0415

    new_master = os.urandom(32)
    write_key_file(next_key_path(cli_env.key_file), new_master)

    async def rewrap() -> None:
        await open_database(cli_env)
        try:
            old = Vault(read_key_file(cli_env.key_file))
            await old.load_service_keys()
            await rewrap_all(old, Vault(new_master))
        finally:
            await close_database()

    asyncio.run(rewrap())
    with pytest.raises(VaultError, match="keys rotate"):
        asyncio.run(running(cli_env, what_alice_has))
    result = CliRunner().invoke(cli, ["keys", "rotate"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "interrupted" in result.output
    assert read_key_file(cli_env.key_file) == new_master
    texts, chain_ok, _ = asyncio.run(running(cli_env, what_alice_has))
    assert texts == [WORDS] and chain_ok
