"""The services a handler may use, built once in the composition root (bot/app.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.audit import AuditLog
from bot.consent.ledger import ConsentLedger
from bot.directory import Directory
from bot.observations import ObservationStore
from bot.outbox import Outbox
from bot.people import People
from bot.settings import Settings
from bot.storage.vault import Vault

if TYPE_CHECKING:
    from bot.router import Router
    from skills.runtime import SkillsRuntime


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
    skills: SkillsRuntime | None = None  # the skills engine and its scheduler
