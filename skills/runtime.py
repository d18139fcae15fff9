"""The skills engine's long-lived parts, built once by the composition root."""

from __future__ import annotations

from datetime import datetime

from bot.consent.ledger import ConsentLedger
from bot.observations import ObservationStore
from bot.services import HeldAbout
from bot.settings import Settings
from bot.storage.models import Person, SkillContribution, SkillExample, SkillSchedule
from bot.storage.vault import Vault
from skills.engine import SkillEngine
from skills.llm import ModelClient
from skills.rebuild import rebuild_without
from skills.scheduler import Publish, SkillScheduler
from skills.sealed import opened

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
            words=await self._words_of(person),
        )

    async def _words_of(self, person: Person) -> list[tuple[str, int, str, str]]:
        """The person's quotes and corrections in each version they contributed to."""
        found: list[tuple[str, int, str, str]] = []
        rows = await SkillContribution.filter(person=person).prefetch_related("version__skill")
        for contribution in rows:
            row = contribution.version
            artifact = await opened(row, self._vault)
            for rule in artifact.get("template", {}).get("rules", []):
                found.extend(
                    (row.skill.name, row.number, "quote", q["text"])
                    for q in rule.get("quotes", [])
                    if q["author"] == person.user_id
                )
            found.extend(
                (row.skill.name, row.number, "correction", c["text"])
                for c in artifact.get("corrections", [])
                if c["by"] == person.user_id and "text" in c
            )
        return sorted(found)

    async def purge_expired(self, cutoff: datetime) -> int:
        """Taught examples older than the retention go (quotes go with their sources)."""
        return await SkillExample.filter(created_at__lt=cutoff).delete()

    async def start(self, publish: Publish) -> None:
        await self.scheduler.start(publish)

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.model.aclose()
