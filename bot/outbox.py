"""The Outbox: the only way out. It checks each message is allowed, then sends with retries."""

from __future__ import annotations

import asyncio

import structlog

from adapters.base import Adapter, SendError
from bot.outbound import OutMessage, SentRef

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 4
MAX_RETRY_WAIT = 30.0


class PolicyError(Exception):
    """A handler tried to send something that must not be sent (a bug, never user error)."""


class Outbox:
    def __init__(self) -> None:
        self._adapters: dict[str, Adapter] = {}

    def register(self, adapter: Adapter) -> None:
        self._adapters[adapter.name] = adapter

    def adapter(self, platform: str) -> Adapter | None:
        return self._adapters.get(platform)

    async def send(self, out: OutMessage) -> SentRef | None:
        check(out)
        adapter = self._adapters.get(out.platform)
        if adapter is None:
            log.error("outbox.no_adapter", platform=out.platform)
            return None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return await adapter.send(out)
            except SendError as exc:
                # Retrying sooner than the platform asked would only be refused again.
                too_long = exc.retry_after is not None and exc.retry_after > MAX_RETRY_WAIT
                if exc.retry_after is None or too_long or attempt == MAX_ATTEMPTS:
                    log.error("outbox.send_failed", platform=out.platform, reason=str(exc))
                    return None
                wait = exc.retry_after
                log.warning("outbox.retry", platform=out.platform, attempt=attempt, wait=wait)
                await asyncio.sleep(wait)
        return None


def check(out: OutMessage) -> None:
    """One person's data goes only to that person's DM."""
    if out.about_user is not None and out.to.dm_user_id != out.about_user:
        raise PolicyError("a message about one person may be sent only to their own DM")
