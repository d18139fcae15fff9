"""Announcing consent and channel changes, so no gate decides from a stale view.

In this process, listeners (the gates' views) hear of a change in the same step as it is
written. Other processes learn of it through the database: every change bumps one
generation number, which each gate reads before it admits its next batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from bot.storage.models import ConsentGeneration

GENERATION_ROW = 1


@dataclass(frozen=True, slots=True)
class Change:
    """What changed: one person's answers (user_id) or one channel's observed flag."""

    tenant_id: int
    user_id: str | None = None
    channel_id: str | None = None


Listener = Callable[[Change], None]


class ConsentChanges:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def announce(self, change: Change) -> None:
        """Tell this process's views now, and every other process through the database."""
        for listener in list(self._listeners):
            listener(change)
        await bump_generation()


async def bump_generation() -> None:
    """Count one change (inside the caller's transaction, when there is one)."""
    updated = await ConsentGeneration.filter(id=GENERATION_ROW).update(value=F("value") + 1)
    if updated:
        return
    try:
        await ConsentGeneration.create(id=GENERATION_ROW, value=1)
    except IntegrityError:  # created by another process just now
        await ConsentGeneration.filter(id=GENERATION_ROW).update(value=F("value") + 1)


async def current_generation() -> int:
    """The number of changes so far, as every process sees it."""
    # Read before every batch: plain SQL, not a model instance.
    db = ConsentGeneration._meta.db
    mark = "?" if db.capabilities.dialect == "sqlite" else "$1"
    _, rows = await db.execute_query(
        f"SELECT value FROM consent_generation WHERE id = {mark}", [GENERATION_ROW]
    )
    return int(rows[0]["value"]) if rows else 0
