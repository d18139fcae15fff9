"""The ConsentGate: the one place that decides whether a message may be observed.

`ObservedMessage` is the only thing observers and learners accept, and only the gate can
make one: calling the class raises, and the gate builds instances privately. The bus
builds the gate itself, and there is no setting that turns it off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.consent.ledger import ConsentLedger
from bot.consent.notices import Purpose
from bot.directory import Directory
from bot.events import Event, EventKind
from bot.storage.models import Channel, Person, Tenant


class Refusal(StrEnum):
    """Why a message was not observed (safe to log: says nothing about the content)."""

    NOT_A_MESSAGE = "not_a_message"
    FROM_A_BOT = "from_a_bot"
    PRIVATE = "private_conversation"
    NOT_OBSERVED = "channel_not_observed"
    NO_GRANT = "author_has_no_grant"
    NO_BACKFILL_GRANT = "author_has_no_history_grant"
    EMPTY = "empty"


@dataclass(frozen=True, slots=True)
class Refused:
    reason: Refusal
    tenant: Tenant | None = None  # set with NO_GRANT, so the pipeline can offer the notice


class ObservedMessage:
    """A message whose author held a live grant for this observed channel when it was read."""

    __slots__ = (
        "tenant",
        "person",
        "channel",
        "message_id",
        "thread_id",
        "occurred_at",
        "text",
        "edited",
    )
    tenant: Tenant
    person: Person
    channel: Channel
    message_id: str
    thread_id: str | None
    occurred_at: datetime
    text: str
    edited: bool

    def __new__(cls, *args: object, **kwargs: object) -> ObservedMessage:
        raise TypeError("ObservedMessage is made only by the ConsentGate")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ObservedMessage is immutable")

    def __repr__(self) -> str:
        return f"ObservedMessage(message_id={self.message_id!r})"


def _make_observed(**fields: object) -> ObservedMessage:
    """The gate's private constructor (bypasses the refusing __new__)."""
    message = object.__new__(ObservedMessage)
    for name, value in fields.items():
        object.__setattr__(message, name, value)
    return message


class _Lookups:
    """What a decision reads: straight from the directory, the ledger and the people table."""

    def __init__(self, ledger: ConsentLedger, directory: Directory) -> None:
        self.ledger = ledger
        self.directory = directory

    async def tenant(self, platform: str, external_id: str) -> Tenant | None:
        return await self.directory.find_tenant(platform, external_id)

    async def channel(self, tenant: Tenant, channel_id: str) -> Channel | None:
        return await self.directory.observed_channel(tenant, channel_id)

    async def covers(self, tenant: Tenant, user_id: str, channel_id: str, purpose: Purpose) -> bool:
        return await self.ledger.covers(tenant, user_id, channel_id, purpose)

    async def person(self, tenant: Tenant, user_id: str) -> Person | None:
        return await Person.get_or_none(tenant=tenant, user_id=user_id)


class _OncePerBatch(_Lookups):
    """The same reads, each made once for a whole batch (a history import's thousand
    messages from a few dozen people): the batch is decided on one fresh reading."""

    def __init__(self, ledger: ConsentLedger, directory: Directory) -> None:
        super().__init__(ledger, directory)
        self._memo: dict[tuple[object, ...], object] = {}

    async def tenant(self, platform: str, external_id: str) -> Tenant | None:
        key = ("tenant", platform, external_id)
        if key not in self._memo:
            self._memo[key] = await super().tenant(platform, external_id)
        return self._memo[key]  # type: ignore[return-value]

    async def channel(self, tenant: Tenant, channel_id: str) -> Channel | None:
        key = ("channel", tenant.id, channel_id)
        if key not in self._memo:
            self._memo[key] = await super().channel(tenant, channel_id)
        return self._memo[key]  # type: ignore[return-value]

    async def covers(self, tenant: Tenant, user_id: str, channel_id: str, purpose: Purpose) -> bool:
        key = ("grant", tenant.id, user_id, channel_id, purpose)
        if key not in self._memo:
            self._memo[key] = await super().covers(tenant, user_id, channel_id, purpose)
        return self._memo[key] is True

    async def person(self, tenant: Tenant, user_id: str) -> Person | None:
        key = ("person", tenant.id, user_id)
        if key not in self._memo:
            self._memo[key] = await super().person(tenant, user_id)
        return self._memo[key]  # type: ignore[return-value]


class ConsentGate:
    def __init__(self, ledger: ConsentLedger, directory: Directory) -> None:
        self._ledger = ledger
        self._directory = directory

    async def admit_many(self, events: Sequence[Event]) -> list[ObservedMessage | Refused]:
        """Decide a batch (history imports) by the same rules as `admit`, reading the
        ledger once for the whole batch; call it again for the next batch."""
        lookups = _OncePerBatch(self._ledger, self._directory)
        return [await self._decide(event, lookups) for event in events]

    async def admit(self, event: Event) -> ObservedMessage | Refused:
        """Decide, at the moment the event is processed, whether it may be observed."""
        return await self._decide(event, _Lookups(self._ledger, self._directory))

    async def _decide(self, event: Event, look: _Lookups) -> ObservedMessage | Refused:
        if event.kind is not EventKind.MESSAGE or event.deleted:
            return Refused(Refusal.NOT_A_MESSAGE)
        if event.actor.is_bot:
            return Refused(Refusal.FROM_A_BOT)
        if event.conversation.is_private:
            return Refused(Refusal.PRIVATE)
        if not event.text.strip():
            return Refused(Refusal.EMPTY)
        tenant = await look.tenant(event.platform, event.tenant)
        if tenant is None:
            return Refused(Refusal.NOT_OBSERVED)
        channel = await look.channel(tenant, event.conversation.id)
        if channel is None:
            return Refused(Refusal.NOT_OBSERVED)
        if not await look.covers(tenant, event.actor.id, channel.channel_id, Purpose.OBSERVE):
            return Refused(Refusal.NO_GRANT, tenant)
        if event.imported and not await look.covers(
            tenant, event.actor.id, channel.channel_id, Purpose.BACKFILL
        ):
            return Refused(Refusal.NO_BACKFILL_GRANT, tenant)
        person = await look.person(tenant, event.actor.id)
        if person is None:  # a grant always makes the person; this is a race with erasure
            return Refused(Refusal.NO_GRANT, tenant)
        return _make_observed(
            tenant=tenant,
            person=person,
            channel=channel,
            message_id=event.message_id or event.id,
            thread_id=event.conversation.thread_id,
            occurred_at=event.occurred_at,
            text=event.text,
            edited=event.edited,
        )

    async def may_prompt(self, tenant: Tenant, user_id: str) -> bool:
        """Offer the notice unprompted only once per version, and never after an answer."""
        if await self._ledger.has_answered(tenant, user_id, Purpose.OBSERVE):
            return False
        return await self._ledger.mark_prompted(tenant, user_id, Purpose.OBSERVE)
