"""Storing what the gate admitted: redact, encrypt under the author's key, write once."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError

from bot.consent.gate import ObservedMessage
from bot.people import key_ref
from bot.redact import redact
from bot.storage.models import Observation, Person, SkillExample, Tenant
from bot.storage.vault import Vault


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


class ObservationStore:
    def __init__(self, vault: Vault) -> None:
        self._vault = vault
        self._keys: dict[uuid.UUID, bytes] = {}
        # A delete names no author on some platforms, so it can overtake the message it
        # deletes on the bus: remember it, and never store that message afterwards.
        self._deleted: OrderedDict[tuple[int, str], None] = OrderedDict()

    async def store(self, message: ObservedMessage) -> bool:
        """Keep one observation; an edit replaces the text. False when it was a duplicate."""
        if not isinstance(message, ObservedMessage):
            raise TypeError("only messages admitted by the ConsentGate can be stored")
        if (message.tenant.id, message.message_id) in self._deleted:
            return False
        person = message.person
        text = redact(message.text)
        existing = await Observation.get_or_none(
            tenant_id=message.tenant.id, message_id=message.message_id
        )
        if existing is not None:
            if not message.edited or existing.person_id != person.id:
                return False
            existing.ciphertext = self._seal(person, existing.id, text)
            await existing.save(update_fields=["ciphertext"])
            return True
        row_id = uuid.uuid4()
        try:
            await Observation.create(
                id=row_id,
                tenant_id=message.tenant.id,
                person=person,
                channel=message.channel,
                message_id=message.message_id,
                thread_id=message.thread_id,
                occurred_at=message.occurred_at,
                ciphertext=self._seal(person, row_id, text),
            )
        except IntegrityError:  # the same message delivered twice, concurrently
            return False
        return True

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

    def forget_key(self, person_id: uuid.UUID) -> None:
        self._keys.pop(person_id, None)

    def _seal(self, person: Person, row_id: uuid.UUID, text: str) -> bytes:
        aad = observation_aad(person.tenant_id, person.id, row_id)
        return self._vault.encrypt(self._data_key(person), text, aad)

    def _data_key(self, person: Person) -> bytes:
        if person.id not in self._keys:
            self._keys[person.id] = self._vault.unwrap(
                person.wrapped_key, key_ref(person.tenant_id, person.id)
            )
        return self._keys[person.id]


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
