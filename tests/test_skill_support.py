"""Helpers shared by the skills tests (no tests here)."""

from __future__ import annotations

import json

from tortoise import Tortoise

from bot.app import Application
from tests.conftest import ConsoleClient

FLOAT_AND_PRINT = (
    "def settle(order):\n    amount: float = order.total\n    print(amount)\n    return amount\n"
)
NOTES_WITH_OPEN_QUESTION = (
    "Planning meeting 2026-11-25\n"
    "Agenda: billing roadmap\n"
    "Decision: ship the billing v2 API first\n"
    "Action: bob to draft the rollout plan by Friday\n"
    "Action: write the release notes\n"
    "Question: who signs off the pricing page?"
)


def database_bytes(app: Application) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(app.settings.data_dir.glob("apprentice.db*")))


async def rows(sql: str, *params: object) -> list[dict]:
    return await Tortoise.get_connection("default").execute_query_dict(sql, list(params))


async def artifacts_json() -> str:
    found = await rows("SELECT artifact FROM skill_versions")
    return "\n".join(
        r["artifact"] if isinstance(r["artifact"], str) else json.dumps(r["artifact"])
        for r in found
    )


async def dm_text(
    console: ConsoleClient, user: str, command: str, channel: str | None = None
) -> str:
    """Send a command and return the bot's reply in the person's DM (or the only reply)."""
    replies = await console.say(user, channel or f"dm:{user}", command)
    dms = [r for r in replies if r["channel"] == f"dm:{user}"]
    return (dms or replies)[0]["text"]


async def reply_text(console: ConsoleClient, user: str, channel: str, command: str) -> str:
    replies = await console.say(user, channel, command)
    return "\n".join(r["text"] for r in replies)
