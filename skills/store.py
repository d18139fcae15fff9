"""Skills and their versions in the database: drafts, publishing, rollback, runs, contributors."""

from __future__ import annotations

from tortoise.expressions import F

from bot.storage.models import Person, Skill, SkillContribution, SkillVersion, Tenant
from bot.storage.vault import Vault
from skills import sealed

DRAFT, PUBLISHED, ARCHIVED, RETIRED = "draft", "published", "archived", "retired"


async def find_skill(tenant: Tenant, name: str, team: str = "") -> Skill | None:
    """The skill `name` of one team (skills/scope.py says which team a command means)."""
    return await Skill.get_or_none(tenant=tenant, name=name, team=team)


async def ensure_skill(
    tenant: Tenant, name: str, kind: str, owner: str | None, description: str, team: str = ""
) -> Skill:
    """The team's skill, made if new: its owner is whoever first learns it in that team."""
    skill = await find_skill(tenant, name, team)
    if skill is None:
        skill = await Skill.create(
            tenant=tenant,
            name=name,
            team=team,
            kind=kind,
            owner_user_id=owner,
            description=description,
        )
    return skill


async def versions(skill: Skill) -> list[SkillVersion]:
    return await SkillVersion.filter(skill=skill).order_by("number")


async def published(skill: Skill) -> SkillVersion | None:
    return await SkillVersion.filter(skill=skill, status=PUBLISHED).order_by("-number").first()


async def latest(skill: Skill, status: str | None = None) -> SkillVersion | None:
    query = SkillVersion.filter(skill=skill)
    if status:
        query = query.filter(status=status)
    return await query.order_by("-number").first()


async def current(skill: Skill) -> SkillVersion | None:
    """What runs: the published version, else the newest draft."""
    return await published(skill) or await latest(skill, DRAFT)


async def version(skill: Skill, number: int) -> SkillVersion | None:
    return await SkillVersion.get_or_none(skill=skill, number=number)


async def add_version(
    skill: Skill,
    artifact: dict,
    provenance: dict,
    contributors: dict[str, int],
    created_by: str | None,
    vault: Vault,
    status: str = DRAFT,
) -> SkillVersion:
    """A new version; the people's words in `artifact` are sealed (skills/sealed.py)."""
    last = await latest(skill)
    row = await SkillVersion.create(
        skill=skill,
        number=(last.number + 1) if last else 1,
        status=status,
        artifact=await sealed.seal(artifact, skill.tenant_id, vault),
        provenance=provenance,
        created_by=created_by,
    )
    await set_contributors(row, skill.tenant_id, contributors)
    return row


async def save_artifact(
    row: SkillVersion, artifact: dict, provenance: dict, vault: Vault, tenant_id: int
) -> None:
    row.artifact = await sealed.seal(artifact, tenant_id, vault)
    row.provenance = provenance
    await row.save(update_fields=["artifact", "provenance"])


async def set_contributors(row: SkillVersion, tenant_id: int, contributors: dict[str, int]) -> None:
    await SkillContribution.filter(version=row).delete()
    for user_id, count in sorted(contributors.items()):
        person = await Person.get_or_none(tenant_id=tenant_id, user_id=user_id)
        if person is not None:
            await SkillContribution.create(version=row, person=person, observations=count)


async def contributor_ids(row: SkillVersion) -> list[str]:
    rows = await SkillContribution.filter(version=row).prefetch_related("person")
    return sorted(c.person.user_id for c in rows)


async def publish(skill: Skill, row: SkillVersion) -> None:
    await SkillVersion.filter(skill=skill, status=PUBLISHED).update(status=ARCHIVED)
    row.status = PUBLISHED
    await row.save(update_fields=["status"])


async def record_run(row: SkillVersion) -> None:
    await SkillVersion.filter(id=row.id).update(run_count=F("run_count") + 1)


async def total_runs(skill: Skill) -> int:
    return sum(v.run_count for v in await versions(skill))
