"""What is held about one person, gathered once for `/skill mydata` and the "my data" page,
and its JSON export (the person's own copy of all of it)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.consent.notices import Purpose
from bot.observations import PlainObservation
from bot.services import Services
from bot.storage.models import Channel, ConsentEvent, SkillContribution, Tenant


@dataclass(frozen=True, slots=True)
class Held:
    platform: str
    tenant: str
    user_id: str
    live: list[str]  # purposes whose consent is in force
    history: list[ConsentEvent]
    observations: list[PlainObservation]
    skills: list[tuple[str, int, int, str]]  # (skill name, version, its runs, its team)
    examples: list[tuple[str, datetime, str]]
    schedules: list[str]
    words: list[tuple[str, int, str, str]]  # (skill, version, quote|correction, text)

    @property
    def per_channel(self) -> dict[str, int]:
        counts = Counter(f"#{o.channel_name or o.channel_id}" for o in self.observations)
        return dict(sorted(counts.items()))


async def gather(services: Services, tenant: Tenant, user_id: str) -> Held:
    person = await services.people.find(tenant, user_id)
    history = await services.ledger.history(tenant, user_id)
    observations = await services.observations.read(person) if person else []
    contributions = (
        await SkillContribution.filter(person=person).prefetch_related("version__skill")
        if person
        else []
    )
    live = [p.value for p in Purpose if await services.ledger.live_grant(tenant, user_id, p)]
    held = await services.skills.held_about(person) if person and services.skills else None
    names = dict(await Channel.filter(tenant=tenant).values_list("channel_id", "name"))

    def team_of(team: str) -> str:  # a skill belongs to the channels it was learned from
        ids = [i for i in team.split(",") if i]
        return ", ".join(f"#{names.get(i) or i}" for i in ids) or "the whole workspace"

    skills = sorted(
        {
            (
                c.version.skill.name,
                c.version.number,
                c.version.run_count,
                team_of(c.version.skill.team),
            )
            for c in contributions
        }
    )
    return Held(
        platform=tenant.platform,
        tenant=tenant.external_id,
        user_id=user_id,
        live=live,
        history=history,
        observations=observations,
        skills=skills,
        examples=held.examples if held else [],
        schedules=held.schedules if held else [],
        words=held.words if held else [],
    )


def export(held: Held) -> dict[str, Any]:
    """All of it, as the person's JSON copy."""
    return {
        "platform": held.platform,
        "tenant": held.tenant,
        "user_id": held.user_id,
        "consent_events": [
            {
                "action": e.action,
                "purpose": e.purpose,
                "channels": e.channels,
                "notice_version": e.notice_version,
                "notice_sha256": e.notice_sha256,
                "language": e.language,
                "occurred_at": e.occurred_at.isoformat(),
                "mechanism": e.mechanism,
                "mechanism_ref": e.mechanism_ref,
            }
            for e in held.history
        ],
        "observations": [
            {
                "channel": o.channel_name or o.channel_id,
                "message_id": o.message_id,
                "thread_id": o.thread_id,
                "occurred_at": o.occurred_at.isoformat(),
                "text": o.text,
            }
            for o in held.observations
        ],
        "skills": [{"name": n, "version": v, "team": t, "runs": r} for n, v, r, t in held.skills],
        "words_in_skills": [
            {"skill": name, "version": number, "kind": kind, "text": text}
            for name, number, kind, text in held.words
        ],
        "taught_examples": [
            {"skill": name, "taught_at": at.isoformat(), "text": text}
            for name, at, text in held.examples
        ],
        "schedules": held.schedules,
    }
