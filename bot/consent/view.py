"""What the ConsentGate decides from: observed channels, live grants and people, in memory.

Filled from the database on first use and kept until something changes:
- a change made in this process (the ledger's answers, the directory's observe/unobserve,
  erasure) is announced to the view in the same step as it is written;
- a change made by another process bumps the consent generation in the database, which
  `refresh` reads before each batch is admitted: a different number empties the view.
A lookup that was reading the database while a change came in is not kept (the epoch moved),
so a value read before a withdrawal was committed never outlives it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.consent.changes import Change, current_generation
from bot.consent.ledger import ALL_CHANNELS, ConsentLedger
from bot.consent.notices import Purpose
from bot.storage.models import Channel, Person, Tenant

if TYPE_CHECKING:
    from bot.directory import Directory

MAX_ENTRIES = 200_000  # past this many remembered answers, start again (bounded memory)


@dataclass(frozen=True, slots=True)
class Grant:
    """The channels a live grant covers (ALL_CHANNELS for every observed channel)."""

    channels: frozenset[str]

    def covers(self, channel_id: str) -> bool:
        return ALL_CHANNELS in self.channels or channel_id in self.channels


class ConsentView:
    def __init__(self, ledger: ConsentLedger, directory: Directory) -> None:
        self._ledger = ledger
        self._directory = directory
        self._tenants: dict[tuple[str, str], Tenant] = {}
        self._channels: dict[tuple[int, str], Channel | None] = {}
        self._grants: dict[tuple[int, str, Purpose], Grant | None] = {}
        self._people: dict[tuple[int, str], Person | None] = {}
        self._not_to_prompt: set[tuple[int, str]] = set()
        self._generation: int | None = None
        self.epoch = 0  # moves on every change this view hears of (and on every reload)
        self._sources = [ledger.changes]
        if directory.changes is not ledger.changes:
            self._sources.append(directory.changes)
        for changes in self._sources:
            changes.subscribe(self.changed)

    def close(self) -> None:
        for changes in self._sources:
            changes.unsubscribe(self.changed)

    def changed(self, change: Change) -> None:
        """Forget what this change may have made untrue (called as the change is written)."""
        self.epoch += 1
        if change.user_id is not None:
            key = (change.tenant_id, change.user_id)
            self._people.pop(key, None)
            self._not_to_prompt.discard(key)
            for purpose in Purpose:
                self._grants.pop((change.tenant_id, change.user_id, purpose), None)
        if change.channel_id is not None:
            self._channels.pop((change.tenant_id, change.channel_id), None)

    async def refresh(self) -> None:
        """Before a batch: empty the view when another process changed consent since."""
        generation = await current_generation()
        if generation != self._generation:
            self._clear()
            self._generation = generation

    def _clear(self) -> None:
        self.epoch += 1
        self._channels.clear()
        self._grants.clear()
        self._people.clear()
        self._not_to_prompt.clear()

    def _full(self) -> bool:
        size = len(self._channels) + len(self._grants) + len(self._people)
        if size > MAX_ENTRIES:
            self._clear()
            return True
        return False

    async def tenant(self, platform: str, external_id: str) -> Tenant | None:
        key = (platform, external_id)
        if key in self._tenants:  # tenants are never deleted
            return self._tenants[key]
        tenant = await self._directory.find_tenant(platform, external_id)
        if tenant is not None:
            self._tenants[key] = tenant
        return tenant

    async def observed_channel(self, tenant: Tenant, channel_id: str) -> Channel | None:
        key = (tenant.id, channel_id)
        if key in self._channels:
            return self._channels[key]
        epoch = self.epoch
        channel = await self._directory.observed_channel(tenant, channel_id)
        if epoch == self.epoch and not self._full():
            self._channels[key] = channel
        return channel

    async def grant(self, tenant: Tenant, user_id: str, purpose: Purpose) -> Grant | None:
        key = (tenant.id, user_id, purpose)
        if key in self._grants:
            return self._grants[key]
        epoch = self.epoch
        event = await self._ledger.live_grant(tenant, user_id, purpose)
        grant = None if event is None else Grant(frozenset(event.channels))
        if epoch == self.epoch and not self._full():
            self._grants[key] = grant
        return grant

    async def person(self, tenant: Tenant, user_id: str) -> Person | None:
        key = (tenant.id, user_id)
        if key in self._people:
            return self._people[key]
        epoch = self.epoch
        person = await Person.get_or_none(tenant=tenant, user_id=user_id)
        if epoch == self.epoch and not self._full():
            self._people[key] = person
        return person

    async def may_prompt(self, tenant: Tenant, user_id: str) -> bool:
        """Offer the notice unprompted only once per version, and never after an answer."""
        key = (tenant.id, user_id)
        if key in self._not_to_prompt:  # the common case for someone who never opted in
            return False
        epoch = self.epoch
        prompt = not await self._ledger.has_answered(
            tenant, user_id, Purpose.OBSERVE
        ) and await self._ledger.mark_prompted(tenant, user_id, Purpose.OBSERVE)
        if epoch == self.epoch:
            self._not_to_prompt.add(key)  # asked now, or asked or answered before
        return prompt
