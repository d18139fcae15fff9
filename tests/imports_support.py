"""What the import tests share: consents given through the console, and the database read back."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

from rich.console import Console

from bot.app import Application
from bot.settings import Settings
from tests.conftest import ConsoleClient


async def agree_to_history(console: ConsoleClient, user: str) -> None:
    replies = await console.say(user, f"dm:{user}", "/skill optin history")
    agree = next(b for r in replies for b in r["buttons"] if b["label"] == "Agree")
    await console.click(user, agree)


def quiet_console() -> Console:
    return Console(file=io.StringIO(), width=120, force_terminal=False)


def shown(console: Console) -> str:
    """What the import printed, with rich's line wrapping undone."""
    return " ".join(console.file.getvalue().split())  # type: ignore[attr-defined]


def database_bytes(settings: Settings) -> bytes:
    """Every byte of the SQLite database, its write-ahead log included."""
    path = settings.sqlite_path
    wal = Path(f"{path}-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def stored_message_ids(settings: Settings) -> dict[str, list[str]]:
    """user id → the message ids stored for them, read straight from the file."""
    with sqlite3.connect(settings.sqlite_path) as db:
        rows = db.execute(
            "SELECT p.user_id, o.message_id FROM observations o JOIN people p ON p.id = o.person_id"
        ).fetchall()
    found: dict[str, list[str]] = {}
    for user, message_id in rows:
        found.setdefault(user, []).append(message_id)
    return {user: sorted(ids) for user, ids in found.items()}


async def stored_texts(settings: Settings, platform: str, tenant: str, user: str) -> list[str]:
    """The decrypted texts kept for one person (as /skill mydata reads them)."""
    app = Application(settings.model_copy(update={"console": False}))
    await app.start(serve_web=False, adapters=False)
    try:
        assert app.services is not None
        found = await app.services.directory.find_tenant(platform, tenant)
        person = await app.services.people.find(found, user) if found else None
        return (
            sorted(o.text for o in await app.services.observations.read(person)) if person else []
        )
    finally:
        await app.stop()
