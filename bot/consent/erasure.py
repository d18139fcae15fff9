"""Erasure: withdraw every purpose, destroy the person's key, delete their data, give a receipt."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from bot.consent.changes import Change
from bot.consent.ledger import ConsentLedger, Mechanism
from bot.consent.notices import Purpose
from bot.logging import where
from bot.observations import ERASE_BATCH, ObservationStore
from bot.storage.models import (
    ConsentPrompt,
    EmailLink,
    Observation,
    Person,
    SkillContribution,
    SkillExample,
    Tenant,
)

log = structlog.get_logger(__name__)

RETRY_SECONDS = 5.0


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


ERASED_PREFIX = "erased:"  # a person row whose key is gone and whose rows are being deleted


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
    """Withdraw everything and destroy the person's key at once (their data is unreadable
    when this returns), rebuild the skills without them, and leave the deletion of their
    rows to the Eraser, in bounded batches outside the command's timeout."""
    withdrawn: list[str] = []
    async with in_transaction():
        for purpose in Purpose:
            if await ledger.withdraw(tenant, user_id, purpose, mechanism, by_admin=by_admin):
                withdrawn.append(purpose.value)
        person = await Person.get_or_none(tenant=tenant, user_id=user_id)
        deleted = rebuilt = 0
        if person is not None:
            deleted = await Observation.filter(person_id=person.id).count()
            # Crypto-shredding first: the wrapped key is overwritten, and the row no longer
            # names the person (so they can opt in afresh while the rest is deleted).
            await Person.filter(id=person.id).update(
                wrapped_key=b"", user_id=f"{ERASED_PREFIX}{person.id}", display_name=""
            )
            await SkillExample.filter(person_id=person.id).delete()  # a few, taught by hand
            await EmailLink.filter(person_id=person.id).delete()  # their address's keyed hash
            observations.forget_key(person.id)
            await ledger.changes.announce(Change(tenant.id, user_id=user_id))
        await ConsentPrompt.filter(tenant=tenant, user_id=user_id).delete()
    if person is not None:
        if forget_in_skills is not None:  # no skill may keep the person's words
            rebuilt = await forget_in_skills(person)  # still holds their user id, in memory
        await _flush_old_pages()
        observations.erasure_wanted.set()
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


class Eraser:
    """Finishes erasures: deletes an erased person's rows a batch at a time, then the person
    row (taking their examples and contributions with it). Runs in the background, so the
    work is bounded per statement, not by a command's timeout; at start it resumes whatever
    a stopped process left unfinished."""

    def __init__(
        self,
        observations: ObservationStore,
        forget_in_skills: Callable[[Person], Awaitable[int]] | None = None,
        batch: int = ERASE_BATCH,
    ) -> None:
        self._observations = observations
        self._forget_in_skills = forget_in_skills
        self._batch = batch
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._observations.erasure_wanted.set()  # resume unfinished erasures
        self._task = asyncio.create_task(self._run(), name="eraser")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def idle(self) -> None:
        """Wait until every erasure asked for so far is finished."""
        while self._observations.erasure_wanted.is_set() or not self._idle.is_set():
            await asyncio.sleep(0)
            await self._idle.wait()

    async def _run(self) -> None:
        wanted = self._observations.erasure_wanted
        while True:
            await wanted.wait()
            self._idle.clear()
            wanted.clear()
            try:
                await self.finish_all()
            except Exception as exc:  # the database went away: try again on the next wake
                log.error("erasure.unfinished", error=type(exc).__name__, where=where(exc))
                await asyncio.sleep(RETRY_SECONDS)
                wanted.set()
                continue
            if not wanted.is_set():
                self._idle.set()

    async def finish_all(self) -> int:
        """Finish every pending erasure now; returns how many rows were deleted."""
        total = 0
        for person in await Person.filter(user_id__startswith=ERASED_PREFIX):
            total += await self._finish(person)
        return total

    async def _finish(self, person: Person) -> int:
        total = 0
        while deleted := await self._observations.delete_some_of(person.id, self._batch):
            total += deleted
            await asyncio.sleep(0)  # let the bus run between batches
        if self._forget_in_skills is not None and await SkillContribution.exists(
            person_id=person.id
        ):  # the command stopped before the skills were rebuilt: do it now
            await self._forget_in_skills(person)
        await person.delete()  # cascades to examples, contributions
        await _flush_old_pages()
        log.info("erasure.finished", observations=total)
        return total


async def _flush_old_pages() -> None:
    """SQLite: checkpoint and truncate the WAL, so old page images of rewritten skill
    versions (which held the person's words) do not linger in the -wal file."""
    connection = Tortoise.get_connection("default")
    if "sqlite" in type(connection).__module__:
        await connection.execute_script("PRAGMA wal_checkpoint(TRUNCATE);")
