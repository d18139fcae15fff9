"""The skills engine's long-lived parts, built once by the composition root."""

from __future__ import annotations

from bot.consent.ledger import ConsentLedger
from bot.observations import ObservationStore
from bot.services import HeldAbout
from bot.settings import Settings
from bot.storage.models import Person, SkillSchedule
from bot.storage.vault import Vault
from skills.engine import SkillEngine
from skills.llm import ModelClient
from skills.rebuild import rebuild_without
from skills.scheduler import Publish, SkillScheduler

__all__ = ["HeldAbout", "SkillsRuntime"]


class SkillsRuntime:
    """The skills side of `bot.services.SkillsPort`: engine, scheduler, erasure, mydata."""

    def __init__(
        self,
        settings: Settings,
        ledger: ConsentLedger,
        observations: ObservationStore,
        vault: Vault,
    ) -> None:
        self.model = ModelClient(settings)
        self.engine = SkillEngine(
            settings=settings,
            ledger=ledger,
            observations=observations,
            vault=vault,
            model=self.model,
        )
        self.scheduler = SkillScheduler(settings)
        self._observations = observations
        self._vault = vault

    async def forget(self, person: Person) -> int:
        """Erasure: drop the person's schedules, relearn every version they fed from the
        others (or retire it); returns how many versions were rebuilt or retired."""
        await person.fetch_related("tenant")
        await self.scheduler.remove(person.tenant, person.user_id, None)
        return await rebuild_without(person, self._observations, self._vault)

    async def held_about(self, person: Person) -> HeldAbout:
        """What the skills engine keeps of one person: taught examples and schedules."""
        await person.fetch_related("tenant")
        schedules = await SkillSchedule.filter(tenant=person.tenant, user_id=person.user_id)
        return HeldAbout(
            examples=await self.engine.examples_of(person),
            schedules=[
                f"{row.skill_name} {row.day_of_week} {row.hour:02d}:{row.minute:02d} {row.timezone}"
                for row in schedules
            ],
        )

    async def start(self, publish: Publish) -> None:
        await self.scheduler.start(publish)

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.model.aclose()
