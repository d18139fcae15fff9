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
from bot.consent.view import ConsentView
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


class ConsentGate:
    """Decides from an in-memory view of grants and observed channels (bot/consent/view.py),
    refreshed before every batch, so a withdrawal stops what is queued behind it."""

    def __init__(self, ledger: ConsentLedger, directory: Directory) -> None:
        self._view = ConsentView(ledger, directory)

    @property
    def epoch(self) -> int:
        """Moves whenever consent or a channel changed: decisions taken before may be stale."""
        return self._view.epoch

    def close(self) -> None:
        self._view.close()

    async def admit(self, event: Event) -> ObservedMessage | Refused:
        """Decide, at the moment the event is processed, whether it may be observed."""
        return (await self.admit_many([event]))[0]

    async def admit_many(self, events: Sequence[Event]) -> list[ObservedMessage | Refused]:
        """Decide for a batch, each event as it stands now (after any change elsewhere)."""
        await self._view.refresh()
        return [await self._decide(event) for event in events]

    async def _decide(self, event: Event) -> ObservedMessage | Refused:
        if event.kind is not EventKind.MESSAGE or event.deleted:
            return Refused(Refusal.NOT_A_MESSAGE)
        if event.actor.is_bot:
            return Refused(Refusal.FROM_A_BOT)
        if event.conversation.is_private:
            return Refused(Refusal.PRIVATE)
        if not event.text.strip():
            return Refused(Refusal.EMPTY)
        view = self._view
        tenant = await view.tenant(event.platform, event.tenant)
        if tenant is None:
            return Refused(Refusal.NOT_OBSERVED)
        channel = await view.observed_channel(tenant, event.conversation.id)
        if channel is None:
            return Refused(Refusal.NOT_OBSERVED)
        grant = await view.grant(tenant, event.actor.id, Purpose.OBSERVE)
        if grant is None or not grant.covers(channel.channel_id):
            return Refused(Refusal.NO_GRANT, tenant)
        if event.imported:
            history = await view.grant(tenant, event.actor.id, Purpose.BACKFILL)
            if history is None or not history.covers(channel.channel_id):
                return Refused(Refusal.NO_BACKFILL_GRANT, tenant)
        person = await view.person(tenant, event.actor.id)
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
