"""History import: events from a platform export go through the same bus and gate.

An imported message is kept only if its author's grant covers both observation and the
separate history purpose, in a channel that is observed now; nobody is DMed.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from datetime import UTC, datetime, timedelta

from bot.app import Application
from bot.events import Event
from bot.settings import Settings

OLDER_THAN_RETENTION = "older_than_retention"


async def import_history(
    settings: Settings,
    events: Iterable[Event] | AsyncIterable[Event],
    on_event: Callable[[str], None] | None = None,
) -> Counter[str]:
    """Feed exported events through the consent gate; returns counts by outcome."""
    app = Application(settings)
    await app.start(serve_web=False, adapters=False)
    assert app.bus is not None
    counts: Counter[str] = Counter()
    cutoff = datetime.now(UTC) - timedelta(days=settings.retention_days)
    try:
        async for event in _aiter(events):
            if event.occurred_at < cutoff:
                outcome = OLDER_THAN_RETENTION
            else:
                outcome = await (await app.bus.publish(dataclasses.replace(event, imported=True)))
            counts[outcome] += 1
            if on_event is not None:
                on_event(outcome)
    finally:
        await app.stop()
    return counts


async def _aiter(events: Iterable[Event] | AsyncIterable[Event]) -> AsyncIterator[Event]:
    if isinstance(events, AsyncIterable):
        async for event in events:
            yield event
    else:
        for event in events:
            yield event
