"""Erasure: withdraw every purpose, delete the person's data, destroy their key, give a receipt."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise import Tortoise
from tortoise.transactions import in_transaction

from bot.consent.ledger import ConsentLedger, Mechanism
from bot.consent.notices import Purpose
from bot.observations import ObservationStore
from bot.storage.models import ConsentPrompt, Observation, Person, Tenant


@dataclass(frozen=True, slots=True)
class Receipt:
    id: str
    erased_at: datetime
    observations_deleted: int
    skill_versions_rebuilt: int
    key_destroyed: bool
    consents_withdrawn: tuple[str, ...]

    def text(self) -> str:
        return (
            f"Erasure receipt {self.id}\n"
            f"• time (UTC): {self.erased_at:%Y-%m-%d %H:%M:%S}\n"
            f"• messages deleted: {self.observations_deleted}\n"
            f"• skill versions rebuilt or retired without you: {self.skill_versions_rebuilt}\n"
            f"• your encryption key destroyed: {'yes' if self.key_destroyed else 'none was held'}\n"
            f"• consents withdrawn: {', '.join(self.consents_withdrawn) or 'none were in force'}\n"
            "The consent ledger keeps the record that you agreed and withdrew, as the law asks; "
            "it holds no message text."
        )


async def erase_person(
    tenant: Tenant,
    user_id: str,
    *,
    ledger: ConsentLedger,
    observations: ObservationStore,
    mechanism: Mechanism,
    forget_in_skills: Callable[[Person], Awaitable[int]] | None = None,
    by_admin: str | None = None,
) -> Receipt:
    """Everything held about one person, gone in one transaction."""
    withdrawn: list[str] = []
    async with in_transaction():
        for purpose in Purpose:
            if await ledger.withdraw(tenant, user_id, purpose, mechanism, by_admin=by_admin):
                withdrawn.append(purpose.value)
        person = await Person.get_or_none(tenant=tenant, user_id=user_id)
        deleted = rebuilt = 0
        if person is not None:
            deleted = await Observation.filter(person=person).count()
            if forget_in_skills is not None:  # no skill may keep the person's words
                rebuilt = await forget_in_skills(person)
            await person.delete()  # cascades to observations, examples, contributions; key gone
            observations.forget_key(person.id)
        await ConsentPrompt.filter(tenant=tenant, user_id=user_id).delete()
    if person is not None:
        await _flush_old_pages()
    erased_at = datetime.now(UTC)
    receipt_id = hashlib.sha256(
        f"{tenant.id}|{user_id}|{erased_at.isoformat()}".encode()
    ).hexdigest()[:12]
    return Receipt(
        id=receipt_id,
        erased_at=erased_at,
        observations_deleted=deleted,
        skill_versions_rebuilt=rebuilt,
        key_destroyed=person is not None,
        consents_withdrawn=tuple(withdrawn),
    )


async def _flush_old_pages() -> None:
    """SQLite: checkpoint and truncate the WAL, so old page images of rewritten skill
    versions (which held the person's words) do not linger in the -wal file."""
    connection = Tortoise.get_connection("default")
    if "sqlite" in type(connection).__module__:
        await connection.execute_script("PRAGMA wal_checkpoint(TRUNCATE);")
