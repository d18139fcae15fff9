"""Which pieces of a source were read in full before, under the consent that holds now.

Re-importing an export with nothing new should cost a glance, not a second import: a piece
(a Slack day file, a run of JSONL lines, one mail) whose identity and the current state of
consent match one recorded earlier is skipped without being read. Any grant, withdrawal,
erasure, observed channel or e-mail link changes that state, and then every piece is read
again (what is stored already is still skipped by message id, without decrypting).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable

from bot.storage.models import Channel, ConsentEvent, EmailLink, ImportedUnit, Person

LOOKUP_CHUNK = 500


async def consent_state() -> str:
    """A fingerprint of everything an import's decisions depend on."""
    consent = await _last_and_count(ConsentEvent)
    links = await _last_and_count(EmailLink)
    people = await Person.all().count()
    observed = (
        await Channel.filter(observed=True)
        .order_by("tenant_id", "channel_id")
        .values_list("tenant_id", "channel_id")
    )
    parts = [repr(consent), repr(links), str(people), repr(list(observed))]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


async def _last_and_count(model: type[ConsentEvent] | type[EmailLink]) -> tuple[int, int]:
    last = await model.all().order_by("-id").first()
    return (last.id if last else 0), await model.all().count()


class Manifest:
    """The pieces of one kind of source, keyed under one consent state."""

    def __init__(self, source: str, state: str) -> None:
        self.source = source
        self._state = state

    def key(self, unit: str | bytes) -> str:
        """The key of a piece, from its identity (a name with its checksum, or its bytes)."""
        data = unit if isinstance(unit, bytes) else unit.encode()
        digest = hashlib.sha256(f"{self.source}|{self._state}|".encode())
        digest.update(data)
        return digest.hexdigest()

    async def seen(self, keys: Collection[str]) -> set[str]:
        """Which of these keys were recorded (one query per 500)."""
        wanted, found = list(keys), set[str]()
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            rows = await ImportedUnit.filter(key__in=wanted[start : start + LOOKUP_CHUNK])
            found.update(row.key for row in rows)
        return found

    async def record(self, keys: Iterable[str]) -> None:
        """Remember pieces read in full (call once their messages are stored)."""
        rows = [ImportedUnit(key=key, source=self.source) for key in dict.fromkeys(keys)]
        if rows:
            await ImportedUnit.bulk_create(rows, ignore_conflicts=True, batch_size=LOOKUP_CHUNK)
