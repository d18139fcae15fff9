"""What learners and executors work on: consented, redacted observations with their author.

Everything here is read through `ObservationStore.read(person, …)` — the ConsentGate made
those rows — and only for people whose observe grant is in force right now.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.consent.ledger import ConsentLedger
from bot.consent.notices import Purpose
from bot.observations import ObservationStore
from bot.storage.models import Person, Tenant


@dataclass(frozen=True, slots=True)
class Material:
    """One consented message (or taught example) and who wrote it."""

    id: str  # observation id, or "example:<id>" for a taught example
    author: str  # the author's platform user id
    text: str
    occurred_at: datetime
    channel: str = ""
    thread_id: str | None = None
    message_id: str | None = None  # the platform's id of the message it is


async def live_people(
    tenant: Tenant, ledger: ConsentLedger, purpose: Purpose = Purpose.OBSERVE
) -> list[Person]:
    """People of the workspace whose grant for `purpose` is in force now."""
    people = await Person.filter(tenant=tenant).order_by("user_id")
    return [p for p in people if await ledger.live_grant(tenant, p.user_id, purpose)]


async def live_user_ids(
    tenant: Tenant,
    ledger: ConsentLedger,
    user_ids: Iterable[str],
    purpose: Purpose = Purpose.OBSERVE,
) -> set[str]:
    """Which of these people hold a live grant now (withdrawal hides them from output)."""
    return {u for u in set(user_ids) if await ledger.live_grant(tenant, u, purpose)}


async def visible_user_ids(
    tenant: Tenant, ledger: ConsentLedger, user_ids: Iterable[str]
) -> set[str]:
    """Authors whose words may be shown: those with a live grant here, and authors of an
    imported skill who never were people of this workspace (their consent was given where
    the skill was made). A withdrawn person keeps their row, so they are hidden at once."""
    ids = set(user_ids)
    known = set(
        await Person.filter(tenant=tenant, user_id__in=list(ids)).values_list("user_id", flat=True)
    )
    return (ids - known) | await live_user_ids(tenant, ledger, ids & known)


async def read_person(
    store: ObservationStore,
    person: Person,
    since: datetime | None = None,
    until: datetime | None = None,
    channels: set[str] | None = None,
    only_ids: set[str] | None = None,
) -> list[Material]:
    rows = await store.read(person, since, until, ids=only_ids)
    return [
        Material(
            id=row.id,
            author=person.user_id,
            text=row.text,
            occurred_at=row.occurred_at,
            channel=row.channel_name or row.channel_id,
            thread_id=row.thread_id,
            message_id=row.message_id,
        )
        for row in rows
        if channels is None or row.channel_id in channels or row.channel_name in channels
    ]


async def read_people(
    store: ObservationStore,
    people: Iterable[Person],
    *,
    channels: set[str] | None = None,
    only_ids: set[str] | None = None,
) -> list[Material]:
    """Everyone's consented messages, oldest first (optionally only the given observation ids)."""
    found: list[Material] = []
    for person in people:
        found.extend(await read_person(store, person, channels=channels, only_ids=only_ids))
    return sorted(found, key=lambda m: m.occurred_at)


def split_sources(ids: Iterable[str]) -> tuple[list[uuid.UUID], list[int]]:
    """Source ids of a provenance or quote: observation ids, and taught examples' numbers
    ("example:12"); anything else ("correction") is neither."""
    observation_ids: list[uuid.UUID] = []
    example_ids: list[int] = []
    for source in ids:
        if source.startswith("example:") and source[8:].isdigit():
            example_ids.append(int(source[8:]))
            continue
        try:
            observation_ids.append(uuid.UUID(source))
        except ValueError:
            continue
    return observation_ids, example_ids
