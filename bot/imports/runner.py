"""Deciding and storing imported messages in batches, through the ConsentGate.

An imported message is kept only if its author's grant covers both observation and the
separate history purpose, in a channel that is observed now; nobody is DMed. Each batch is
decided on a fresh reading of the ledger, so a withdrawal during a long import stops it at
the next batch. What is stored already is skipped by its message id, without decrypting.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import structlog
from tortoise.exceptions import IntegrityError

from bot.consent.gate import ConsentGate, ObservedMessage, Refused
from bot.consent.ledger import ConsentLedger
from bot.consent.notices import Terms
from bot.directory import Directory
from bot.events import Event, EventKind
from bot.observation_batch import ObservationBatchWriter
from bot.settings import Settings
from bot.storage.database import close_database, open_database
from bot.storage.vault import Vault, load_master_key

log = structlog.get_logger(__name__)

BATCH = 1000
STORED = "stored"
ALREADY_STORED = "already_stored"
OLDER_THAN_RETENTION = "older_than_retention"
DUPLICATE = "duplicate_event"
COMMAND = "command_to_the_bot"

Events = Iterable[Event] | AsyncIterable[Event]


class Importer:
    """One import: the database is open; events go through the gate batch by batch."""

    def __init__(self, settings: Settings, vault: Vault, batch_size: int = BATCH) -> None:
        self.settings = settings
        self.vault = vault
        self._gate = ConsentGate(ConsentLedger(Terms.of(settings)), Directory())
        self._writer = ObservationBatchWriter(vault)
        self._batch_size = batch_size
        self._cutoff = datetime.now(UTC) - timedelta(days=settings.retention_days)

    async def run(
        self,
        events: Events,
        counts: Counter[str] | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> Counter[str]:
        """Import every event; returns the counts by outcome (`on_batch(n)` after each batch)."""
        counts = Counter() if counts is None else counts
        batch: list[Event] = []
        async for event in _aiter(events):
            batch.append(event)
            if len(batch) >= self._batch_size:
                await self._import_batch(batch, counts)
                if on_batch is not None:
                    on_batch(len(batch))
                batch = []
        if batch:
            await self._import_batch(batch, counts)
            if on_batch is not None:
                on_batch(len(batch))
        return counts

    async def _import_batch(self, events: list[Event], counts: Counter[str]) -> None:
        candidates: list[Event] = []
        seen: set[tuple[str, str, str]] = set()
        for event in events:
            if event.kind is EventKind.COMMAND:
                counts[COMMAND] += 1
            elif event.occurred_at < self._cutoff:
                counts[OLDER_THAN_RETENTION] += 1
            elif (key := (event.platform, event.tenant, event.message_id or event.id)) in seen:
                counts[DUPLICATE] += 1
            else:
                seen.add(key)
                candidates.append(event)
        for attempt in (1, 2):
            verdicts = await self._gate.admit_history(candidates)
            try:
                admitted = [v for v in verdicts if isinstance(v, ObservedMessage)]
                written, already = await self._store(admitted)
            except IntegrityError:
                # Someone was erased while their batch was being written (their row is gone):
                # decide the batch again, so the gate refuses what is no longer theirs to keep.
                if attempt == 2:
                    raise
                log.info("import.batch_redecided", messages=len(candidates))
                continue
            break
        for verdict in verdicts:
            if isinstance(verdict, Refused):
                counts[verdict.reason.value] += 1
        if written:
            counts[STORED] += written
        if already:
            counts[ALREADY_STORED] += already

    async def _store(self, admitted: list[ObservedMessage]) -> tuple[int, int]:
        by_tenant: dict[int, list[ObservedMessage]] = {}
        for message in admitted:
            by_tenant.setdefault(message.tenant.id, []).append(message)
        new: list[ObservedMessage] = []
        for tenant_id, messages in by_tenant.items():
            stored = await self._writer.stored_ids(tenant_id, [m.message_id for m in messages])
            new.extend(m for m in messages if m.message_id not in stored)
        written = await self._writer.write(new)
        return written, len(admitted) - written

    def close(self) -> None:
        self._writer.forget_keys()


@asynccontextmanager
async def import_session(settings: Settings) -> AsyncIterator[Importer]:
    """Open the database (bringing its schema up to date) for one import, then close it."""
    vault = Vault(load_master_key(settings))
    await open_database(settings)
    await vault.load_service_keys()  # the keyed hashes of linked e-mail addresses need them
    importer = Importer(settings, vault)
    try:
        yield importer
    finally:
        importer.close()
        await close_database()


async def import_history(
    settings: Settings,
    events: Events,
    on_batch: Callable[[int], None] | None = None,
) -> Counter[str]:
    """Import these events in a session of their own; returns counts by outcome."""
    async with import_session(settings) as importer:
        return await importer.run(events, on_batch=on_batch)


async def _aiter(events: Events) -> AsyncIterator[Event]:
    if isinstance(events, AsyncIterable):
        async for event in events:
            yield event
    else:
        for event in events:
            yield event
