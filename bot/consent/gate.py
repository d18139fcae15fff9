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

from bot.consent.ledger import BULK_LOOKUP, ConsentLedger, grant_covers
from bot.consent.notices import Purpose
from bot.consent.view import ConsentView
from bot.directory import Directory
from bot.events import Event, EventKind
from bot.storage.models import Channel, ConsentEvent, Person, Tenant


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
    """The same reads for a whole batch (a history import's thousand messages), made in a
    few bulk queries before it is decided: the batch is decided on one fresh reading."""

    def __init__(self, ledger: ConsentLedger, directory: Directory) -> None:
        super().__init__(ledger, directory)
        self._tenants: dict[tuple[str, str], Tenant | None] = {}
        self._channels: dict[int, dict[str, Channel]] = {}
        self._grants: dict[tuple[int, Purpose], dict[str, ConsentEvent]] = {}
        self._people: dict[int, dict[str, Person]] = {}
        self._read_users: dict[int, set[str]] = {}

    async def read(self, events: Sequence[Event]) -> None:
        authors: dict[tuple[str, str], set[str]] = {}
        for event in events:
            authors.setdefault((event.platform, event.tenant), set()).add(event.actor.id)
        for (platform, external_id), users in authors.items():
            tenant = await self.directory.find_tenant(platform, external_id)
            self._tenants[(platform, external_id)] = tenant
            if tenant is None:
                continue
            self._read_users[tenant.id] = users
            observed = await self.directory.observed_channels(tenant)
            self._channels[tenant.id] = {c.channel_id: c for c in observed}
            for purpose in (Purpose.OBSERVE, Purpose.BACKFILL):
                grants = await self.ledger.live_grants(tenant, users, purpose)
                self._grants[(tenant.id, purpose)] = grants
            granted = [u for u in users if u in self._grants[(tenant.id, Purpose.OBSERVE)]]
            people: dict[str, Person] = {}
            for start in range(0, len(granted), BULK_LOOKUP):
                chunk = granted[start : start + BULK_LOOKUP]
                for person in await Person.filter(tenant=tenant, user_id__in=chunk):
                    people[person.user_id] = person
            self._people[tenant.id] = people

    async def tenant(self, platform: str, external_id: str) -> Tenant | None:
        if (platform, external_id) in self._tenants:
            return self._tenants[(platform, external_id)]
        return await super().tenant(platform, external_id)

    async def channel(self, tenant: Tenant, channel_id: str) -> Channel | None:
        if tenant.id in self._channels:
            return self._channels[tenant.id].get(channel_id)
        return await super().channel(tenant, channel_id)

    async def covers(self, tenant: Tenant, user_id: str, channel_id: str, purpose: Purpose) -> bool:
        grants = self._grants.get((tenant.id, purpose))
        if grants is None or user_id not in self._read_users.get(tenant.id, ()):
            return await super().covers(tenant, user_id, channel_id, purpose)
        return grant_covers(grants.get(user_id), channel_id)

    async def person(self, tenant: Tenant, user_id: str) -> Person | None:
        people = self._people.get(tenant.id)
        if people is not None and user_id in people:
            return people[user_id]
        return await super().person(tenant, user_id)


class _ViewLookups:
    """The same reads, answered by the gate's in-memory view (live traffic)."""

    def __init__(self, view: ConsentView) -> None:
        self.view = view

    async def tenant(self, platform: str, external_id: str) -> Tenant | None:
        return await self.view.tenant(platform, external_id)

    async def channel(self, tenant: Tenant, channel_id: str) -> Channel | None:
        return await self.view.observed_channel(tenant, channel_id)

    async def covers(self, tenant: Tenant, user_id: str, channel_id: str, purpose: Purpose) -> bool:
        grant = await self.view.grant(tenant, user_id, purpose)
        return grant is not None and grant.covers(channel_id)

    async def person(self, tenant: Tenant, user_id: str) -> Person | None:
        return await self.view.person(tenant, user_id)


class ConsentGate:
    """Decides from an in-memory view of grants and observed channels (bot/consent/view.py),
    refreshed before every batch, so a withdrawal stops what is queued behind it."""

    def __init__(self, ledger: ConsentLedger, directory: Directory) -> None:
        self._ledger, self._directory = ledger, directory  # history imports read these
        self._view = ConsentView(ledger, directory)

    @property
    def epoch(self) -> int:
        """Moves whenever consent or a channel changed: decisions taken before may be stale."""
        return self._view.epoch

    def close(self) -> None:
        self._view.close()

    async def admit_history(self, events: Sequence[Event]) -> list[ObservedMessage | Refused]:
        """Decide a batch of imported messages by the same rules as `admit` — each needs the
        history grant as well — reading the ledger once for the batch (call it per batch)."""
        lookups = _OncePerBatch(self._ledger, self._directory)
        await lookups.read(events)
        return [await self._decide(event, lookups, history=True) for event in events]

    async def admit(self, event: Event) -> ObservedMessage | Refused:
        """Decide, at the moment the event is processed, whether it may be observed."""
        return (await self.admit_many([event]))[0]

    async def admit_many(self, events: Sequence[Event]) -> list[ObservedMessage | Refused]:
        """Decide for a batch, each event as it stands now (after any change elsewhere)."""
        await self._view.refresh()
        look = _ViewLookups(self._view)
        return [await self._decide(event, look) for event in events]

    async def _decide(
        self, event: Event, look: _Lookups | _ViewLookups, history: bool = False
    ) -> ObservedMessage | Refused:
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
        if (history or event.imported) and not await look.covers(
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
        return await self._view.may_prompt(tenant, user_id)
