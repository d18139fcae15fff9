"""Storing many admitted messages at once (history imports): redact, seal, one insert per batch.

The unique (tenant, message id) makes a batch idempotent: ids already stored are looked up in
one query and skipped without decrypting anything; a row stored meanwhile by the live bot is
ignored by the insert rather than failing the batch.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot.consent.gate import ObservedMessage
from bot.observations import observation_aad
from bot.people import key_ref
from bot.redact import redact
from bot.storage.models import Observation, Person
from bot.storage.vault import Vault

CONVERTED = ("id", "person_id", "occurred_at", "created_at")
LOOKUP_CHUNK = 500  # ids per IN (...) query: well inside SQLite's and PostgreSQL's limits


class ObservationBatchWriter:
    def __init__(self, vault: Vault) -> None:
        self._vault = vault
        self._keys: dict[uuid.UUID, bytes] = {}

    async def stored_ids(self, tenant_id: int, message_ids: Collection[str]) -> set[str]:
        """Which of these message ids the tenant already holds (ids only, nothing decrypted)."""
        wanted = list(set(message_ids))
        found: set[str] = set()
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            chunk = wanted[start : start + LOOKUP_CHUNK]
            rows = await Observation.filter(tenant_id=tenant_id, message_id__in=chunk).values_list(
                "message_id", flat=True
            )
            found.update(str(row) for row in rows)
        return found

    async def write(self, messages: Sequence[ObservedMessage]) -> int:
        """Insert these new observations in one transaction; returns how many were written."""
        return await self.insert(self.seal(messages))

    def seal(self, messages: Sequence[ObservedMessage]) -> list[dict[str, Any]]:
        """The rows for these observations: text redacted, then encrypted under its author's key."""
        now = datetime.now(UTC)
        ids = os.urandom(16 * len(messages))  # one call for the batch's row ids
        rows: list[dict[str, Any]] = []
        for i, message in enumerate(messages):
            if not isinstance(message, ObservedMessage):
                raise TypeError("only messages admitted by the ConsentGate can be stored")
            row_id = uuid.UUID(bytes=ids[16 * i : 16 * i + 16], version=4)
            person = message.person
            sealed = self._vault.encrypt(
                self._data_key(person),
                redact(message.text),
                observation_aad(person.tenant_id, person.id, row_id),
            )
            rows.append(
                {
                    "id": row_id,
                    "tenant_id": message.tenant.id,
                    "person_id": person.id,
                    "channel_id": message.channel.id,
                    "message_id": message.message_id,
                    "thread_id": message.thread_id,
                    "occurred_at": message.occurred_at,
                    "ciphertext": sealed,
                    "created_at": now,
                }
            )
        return rows

    async def insert(self, rows: list[dict[str, Any]]) -> int:
        """Insert sealed rows in one transaction; returns how many were written."""
        if not rows:
            return 0
        try:
            async with in_transaction() as connection:
                await _insert_many(connection, rows)
            return len(rows)
        except IntegrityError:
            pass  # a message the live bot stored meanwhile, or an author erased meanwhile
        async with in_transaction() as connection:
            # One by one would be slow; ignoring conflicts keeps the rest, and counting our
            # own row ids says how many were really written. An erased author still fails.
            instances = [Observation(**row) for row in rows]
            await Observation.bulk_create(instances, ignore_conflicts=True, using_db=connection)
            ours = Observation.filter(id__in=[row["id"] for row in rows]).using_db(connection)
            return await ours.count()

    def forget_keys(self) -> None:
        """Drop the unwrapped data keys held in memory (at the end of an import)."""
        self._keys.clear()

    def _data_key(self, person: Person) -> bytes:
        if person.id not in self._keys:
            self._keys[person.id] = self._vault.unwrap(
                person.wrapped_key, key_ref(person.tenant_id, person.id)
            )
        return self._keys[person.id]


async def _insert_many(connection: BaseDBAsyncClient, rows: list[dict[str, Any]]) -> None:
    """One executemany of the rows, each value converted as tortoise converts it."""
    executor = connection.executor_class(model=Observation, db=connection)
    fields = Observation._meta.fields_map
    columns = executor.regular_columns
    # ids and times as the dialect stores them; ints, text and bytes are native everywhere
    convert = [fields[c].to_db_value if c in CONVERTED else None for c in columns]
    values = [
        [
            row[c] if to_db is None else to_db(row[c], Observation)
            for c, to_db in zip(columns, convert, strict=True)
        ]
        for row in rows
    ]
    await connection.execute_many(executor.insert_query, values)
