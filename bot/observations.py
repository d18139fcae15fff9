"""Storing what the gate admitted: redact, encrypt under the author's key, write once."""

from __future__ import annotations

import asyncio
import functools
import os
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tortoise.exceptions import IntegrityError

from bot.consent.gate import ObservedMessage
from bot.people import key_ref
from bot.redaction_pool import Redactor
from bot.storage.models import Observation, Person, SkillExample, Tenant
from bot.storage.vault import NONCE_BYTES, Vault


@dataclass(frozen=True, slots=True)
class PlainObservation:
    """A decrypted observation, for the person themselves (mydata) and for learners."""

    id: str
    channel_id: str
    channel_name: str
    message_id: str
    thread_id: str | None
    occurred_at: datetime
    text: str


def observation_aad(tenant_id: int, person_id: uuid.UUID, row_id: uuid.UUID) -> str:
    return f"obs|{tenant_id}|{person_id}|{row_id}"


TOMBSTONES = 10_000  # recently deleted message ids remembered
COLUMNS = (
    "id",
    "tenant_id",
    "person_id",
    "channel_id",
    "message_id",
    "thread_id",
    "occurred_at",
    "ciphertext",
    "created_at",
)
INSERT_CHUNK = 500  # rows per statement (9 values each: far below the parameter limits)
ERASE_BATCH = 5_000  # rows deleted per statement when a person is erased

StillAdmitted = Callable[[list[int]], Awaitable[set[int]]]


@dataclass(slots=True)
class _Row:
    """One message of a batch on its way to the table."""

    index: int
    message: ObservedMessage
    row_id: uuid.UUID
    text: str


class ObservationStore:
    def __init__(self, vault: Vault, redactor: Redactor | None = None) -> None:
        self._vault = vault
        self._redactor = redactor or Redactor()
        self._keys: dict[uuid.UUID, bytes] = {}
        self._aeads: dict[uuid.UUID, AESGCM] = {}
        # A delete names no author on some platforms, so it can overtake the message it
        # deletes on the bus: remember it, and never store that message afterwards.
        self._deleted: OrderedDict[tuple[int, str], None] = OrderedDict()
        self.erasure_wanted = asyncio.Event()  # set by erasure; the Eraser finishes the job

    async def aclose(self) -> None:
        await self._redactor.aclose()

    async def store(self, message: ObservedMessage) -> bool:
        """Keep one observation; an edit replaces the text. False when it was a duplicate."""
        return (await self.store_many([message]))[0]

    async def store_many(
        self, messages: Sequence[ObservedMessage], still_admitted: StillAdmitted | None = None
    ) -> list[bool]:
        """Redact, encrypt and write a batch with one statement; True for each message kept.

        The unique (tenant, message id) makes a retried batch a no-op (the insert skips what
        is stored and says what it wrote). `still_admitted` is asked, right before the write,
        which of the batch's positions may still be stored (consent may have changed while
        the batch was redacted)."""
        for message in messages:
            if not isinstance(message, ObservedMessage):
                raise TypeError("only messages admitted by the ConsentGate can be stored")
        stored = [False] * len(messages)
        rows = self._first_of_each(messages)
        if not rows:
            return stored
        texts = await self._redactor.redact_all([row.message.text for row in rows])
        for row, text in zip(rows, texts, strict=True):
            row.text = text
        if still_admitted is not None:
            keep = await still_admitted([row.index for row in rows])
            rows = [row for row in rows if row.index in keep]
        rows = [row for row in rows if not self._was_deleted(row.message)]
        written = await self._insert(rows)
        for row in rows:
            stored[row.index] = row.index in written
        edits = [row for row in rows if row.message.edited and row.index not in written]
        for index in await self._replace(edits):
            stored[index] = True
        return stored

    def _first_of_each(self, messages: Sequence[ObservedMessage]) -> list[_Row]:
        """One row per message id in the batch (an edit right behind its message wins)."""
        first: dict[tuple[int, str], _Row] = {}
        for index, message in enumerate(messages):
            key = (message.tenant.id, message.message_id)
            if key in self._deleted:
                continue
            if key not in first:
                first[key] = _Row(index, message, uuid.uuid4(), message.text)
            elif message.edited and first[key].message.person.id == message.person.id:
                first[key] = _Row(index, message, first[key].row_id, message.text)
        return sorted(first.values(), key=lambda row: row.index)

    async def _replace(self, edits: list[_Row]) -> list[int]:
        """Edits of messages stored before: new text under the same row, same author only."""
        done: list[int] = []
        for row in edits:
            message = row.message
            existing = await Observation.get_or_none(
                tenant_id=message.tenant.id, message_id=message.message_id
            )
            if existing is None or existing.person_id != message.person.id:
                continue
            existing.ciphertext = self._seal(message.person, existing.id, row.text)
            await existing.save(update_fields=["ciphertext"])
            done.append(row.index)
        return done

    async def _insert(self, rows: list[_Row]) -> set[int]:
        """One INSERT … ON CONFLICT DO NOTHING RETURNING for the batch: the positions written.
        Row by row only when the database refused the batch (an author erased meanwhile)."""
        if not rows:
            return set()
        db = Observation._meta.db
        created = datetime.now(UTC)
        dialect = db.capabilities.dialect
        written: set[int] = set()
        if dialect in ("sqlite", "postgres"):
            try:
                for start in range(0, len(rows), INSERT_CHUNK):
                    chunk = rows[start : start + INSERT_CHUNK]
                    values = [v for row in chunk for v in self._values(row, created)]
                    # execute_query_dict fetches the RETURNING rows (execute_query would not)
                    returned = await db.execute_query_dict(_insert_sql(dialect, len(chunk)), values)
                    ids = {str(r["message_id"]) for r in returned}
                    written.update(row.index for row in chunk if row.message.message_id in ids)
                return written
            except IntegrityError:
                pass  # e.g. a person erased meanwhile (no such person any more): one by one
        for row in rows:
            if row.index in written:
                continue
            message = row.message
            try:
                await Observation.create(
                    id=row.row_id,
                    tenant_id=message.tenant.id,
                    person_id=message.person.id,
                    channel_id=message.channel.id,
                    message_id=message.message_id,
                    thread_id=message.thread_id,
                    occurred_at=message.occurred_at,
                    ciphertext=self._seal(message.person, row.row_id, row.text),
                )
            except IntegrityError:  # the same message stored already, or its author gone
                continue
            written.add(row.index)
        return written

    def _values(self, row: _Row, created: datetime) -> list[object]:
        message = row.message
        return [
            str(row.row_id),
            message.tenant.id,
            str(message.person.id),
            message.channel.id,
            message.message_id,
            message.thread_id,
            message.occurred_at,
            self._seal(message.person, row.row_id, row.text),
            created,
        ]

    def _was_deleted(self, message: ObservedMessage) -> bool:
        return (message.tenant.id, message.message_id) in self._deleted

    async def delete_message(self, tenant: Tenant, message_id: str) -> int:
        """The author deleted or recalled a message on the platform: erase our copy."""
        self._deleted[(tenant.id, message_id)] = None
        if len(self._deleted) > TOMBSTONES:
            self._deleted.popitem(last=False)
        await SkillExample.filter(skill__tenant=tenant, source_message_id=message_id).delete()
        return await Observation.filter(tenant=tenant, message_id=message_id).delete()

    async def read(
        self,
        person: Person,
        since: datetime | None = None,
        until: datetime | None = None,
        ids: Collection[str] | None = None,
    ) -> list[PlainObservation]:
        """Decrypt one person's observations (or only those with these ids), oldest first."""
        query = Observation.filter(person=person).prefetch_related("channel")
        if ids is not None:
            query = query.filter(id__in=[i for i in ids if _is_uuid(i)])
        if since is not None:
            query = query.filter(occurred_at__gte=since)
        if until is not None:
            query = query.filter(occurred_at__lt=until)
        key = self._data_key(person)
        rows = await query.order_by("occurred_at")
        return [
            PlainObservation(
                id=str(row.id),
                channel_id=row.channel.channel_id,
                channel_name=row.channel.name,
                message_id=row.message_id,
                thread_id=row.thread_id,
                occurred_at=row.occurred_at,
                text=self._vault.decrypt(
                    key, row.ciphertext, observation_aad(person.tenant_id, person.id, row.id)
                ),
            )
            for row in rows
        ]

    async def purge_expired(self, retention_days: int) -> int:
        cutoff = datetime.now(UTC) - timedelta(days=retention_days)
        return await Observation.filter(occurred_at__lt=cutoff).delete()

    async def delete_some_of(self, person_id: uuid.UUID, limit: int = ERASE_BATCH) -> int:
        """Erasure, a bounded step at a time: delete up to `limit` of a person's rows."""
        ids = (
            await Observation.filter(person_id=person_id).limit(limit).values_list("id", flat=True)
        )
        if not ids:
            return 0
        return await Observation.filter(id__in=list(ids)).delete()

    def forget_key(self, person_id: uuid.UUID) -> None:
        self._keys.pop(person_id, None)
        self._aeads.pop(person_id, None)

    def _seal(self, person: Person, row_id: uuid.UUID, text: str) -> bytes:
        """AES-GCM under the person's data key; the cipher object is kept per person."""
        aead = self._aeads.get(person.id)
        if aead is None:
            aead = self._aeads[person.id] = AESGCM(self._data_key(person))
        nonce = os.urandom(NONCE_BYTES)
        aad = observation_aad(person.tenant_id, person.id, row_id).encode()
        return nonce + aead.encrypt(nonce, text.encode(), aad)

    def _data_key(self, person: Person) -> bytes:
        if person.id not in self._keys:
            self._keys[person.id] = self._vault.unwrap(
                person.wrapped_key, key_ref(person.tenant_id, person.id)
            )
        return self._keys[person.id]


@functools.cache
def _insert_sql(dialect: str, rows: int) -> str:
    """A multi-row insert that skips stored message ids and names the ones it wrote."""
    width = len(COLUMNS)
    if dialect == "sqlite":
        groups = ["(" + ", ".join(["?"] * width) + ")"] * rows
    else:
        groups = [
            "(" + ", ".join(f"${r * width + c + 1}" for c in range(width)) + ")"
            for r in range(rows)
        ]
    columns = ", ".join(f'"{c}"' for c in COLUMNS)
    return (
        f'INSERT INTO "observations" ({columns}) VALUES {", ".join(groups)} '
        'ON CONFLICT DO NOTHING RETURNING "message_id"'
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
