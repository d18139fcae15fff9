"""The database and its -wal/-shm are 0600 in a 0700 data directory."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import Application
from tests.conftest import make_settings


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """With the usual umask (022) new files are 0644: the code must not rely on a stricter one."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def modes_while_running(data_dir: Path) -> dict[str, int]:
    app = Application(make_settings(data_dir))
    await app.start(serve_web=False, adapters=False)
    try:
        assert app.services is not None
        await app.services.audit.record("console", "local", "channel.observe", "admin")
        db = app.settings.sqlite_path
        files = {"dir": data_dir, "db": db, "wal": Path(f"{db}-wal"), "shm": Path(f"{db}-shm")}
        return {name: mode(path) for name, path in files.items()}
    finally:
        await app.stop()


async def test_a_new_database_is_private_to_its_owner(tmp_path: Path) -> None:
    modes = await modes_while_running(tmp_path / "data")
    assert modes == {"dir": 0o700, "db": 0o600, "wal": 0o600, "shm": 0o600}
    assert mode(tmp_path / "data" / "master.key") == 0o600


async def test_an_older_install_with_open_modes_is_narrowed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    await modes_while_running(data_dir)  # creates the files
    os.chmod(data_dir, 0o755)
    for name in ("apprentice.db", "apprentice.db-wal", "apprentice.db-shm"):
        if (data_dir / name).exists():
            os.chmod(data_dir / name, 0o644)
    modes = await modes_while_running(data_dir)
    assert modes == {"dir": 0o700, "db": 0o600, "wal": 0o600, "shm": 0o600}
