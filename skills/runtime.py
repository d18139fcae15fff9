"""The skills engine's long-lived parts, built once by the composition root."""

from __future__ import annotations

from bot.consent.ledger import ConsentLedger
from bot.observations import ObservationStore
from bot.settings import Settings
from bot.storage.models import Person
from bot.storage.vault import Vault
from skills.engine import SkillEngine
from skills.llm import ModelClient
from skills.rebuild import rebuild_without
from skills.scheduler import Publish, SkillScheduler


class SkillsRuntime:
    def __init__(
        self,
        settings: Settings,
        ledger: ConsentLedger,
        observations: ObservationStore,
        vault: Vault,
    ) -> None:
        self.model = ModelClient(settings)
        self.engine = SkillEngine(
            settings=settings, ledger=ledger, observations=observations, vault=vault,
            model=self.model,
        )
        self.scheduler = SkillScheduler(settings)
        self._observations = observations
        self._vault = vault

    async def rebuild_without(self, person: Person) -> int:
        """Erasure: relearn what `person` fed from the others, or retire it; returns a count."""
        return await rebuild_without(person, self._observations, self._vault)

    async def start(self, publish: Publish) -> None:
        await self.scheduler.start(publish)

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.model.aclose()
