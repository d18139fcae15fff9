"""The services a handler may use, built once in the composition root (bot/app.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.audit import AuditLog
from bot.consent.ledger import ConsentLedger
from bot.directory import Directory
from bot.metrics import Metrics
from bot.observations import ObservationStore
from bot.outbox import Outbox
from bot.people import People
from bot.settings import Settings
from bot.storage.models import Person
from bot.storage.vault import Vault

if TYPE_CHECKING:
    from bot.events import Event
    from bot.router import Router

Publish = Callable[["Event"], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class HeldAbout:
    """What a plugged-in part keeps of one person, for `/skill mydata`."""

    examples: list[tuple[str, datetime, str]]  # (skill name, taught at, redacted text)
    schedules: list[str]
    words: list[tuple[str, int, str, str]] = field(default_factory=list)
    """(skill name, version, "quote" or "correction", text): their words a skill keeps."""


class SkillsPort(Protocol):
    """What the core asks of the skills engine; the composition root plugs one in."""

    async def forget(self, person: Person) -> int:
        """Erasure: drop what is kept of the person; returns how many versions changed."""
        ...

    async def held_about(self, person: Person) -> HeldAbout: ...

    async def purge_expired(self, cutoff: datetime) -> int:
        """Retention: drop what was taught before `cutoff`; returns how many rows went."""
        ...

    async def start(self, publish: Publish) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    vault: Vault
    directory: Directory
    ledger: ConsentLedger
    people: People
    observations: ObservationStore
    audit: AuditLog
    outbox: Outbox
    router: Router
    skills: SkillsPort | None = None  # the skills engine and its scheduler
    metrics: Metrics = field(default_factory=Metrics)  # counts only: /metrics (bot/health.py)
