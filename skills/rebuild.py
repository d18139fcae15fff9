"""After an erasure: rebuild every skill version the person fed, from the others, or retire it."""

from __future__ import annotations

import structlog

from bot.observations import ObservationStore
from bot.storage.models import Person, Skill, SkillContribution, SkillExample, SkillVersion
from bot.storage.vault import Vault
from skills import store
from skills.body import offline_body
from skills.corrections import replay
from skills.kinds import kind_for
from skills.material import Material, read_people
from skills.sealed import opened

log = structlog.get_logger(__name__)


async def rebuild_without(person: Person, observations: ObservationStore, vault: Vault) -> int:
    """Relearn each version `person` contributed to from the remaining contributors' inputs.

    Versions keep their number and status; one with nothing left is retired and emptied.
    Returns how many versions were rebuilt or retired.
    """
    contributions = await SkillContribution.filter(person=person).prefetch_related("version__skill")
    done = 0
    for contribution in contributions:
        row: SkillVersion = contribution.version
        try:
            await _rebuild(row, person, observations, vault)
        except Exception as exc:  # one version that cannot be rebuilt never blocks the erasure
            log.warning(
                "skill.rebuild_failed_retired",
                skill=row.skill.name,
                version=row.number,
                error=type(exc).__name__,
            )
            await _retire(row)
        done += 1
    await SkillVersion.filter(skill__tenant_id=person.tenant_id, created_by=person.user_id).update(
        created_by=None
    )
    await Skill.filter(tenant_id=person.tenant_id, owner_user_id=person.user_id).update(
        owner_user_id=None
    )
    return done


async def _retire(row: SkillVersion) -> None:
    row.status, row.artifact, row.provenance = store.RETIRED, {}, {}
    await row.save(update_fields=["status", "artifact", "provenance"])
    await SkillContribution.filter(version=row).delete()


async def _rebuild(
    row: SkillVersion, erased: Person, observations: ObservationStore, vault: Vault
) -> None:
    from skills.engine import example_aad  # noqa: PLC0415 - the engine imports this module's peers

    skill = row.skill
    others = [
        c.person
        for c in await SkillContribution.filter(version=row).prefetch_related("person")
        if c.person_id != erased.id
    ]
    inputs = set(row.provenance.get("inputs", []))
    materials: list[Material] = await read_people(observations, others, only_ids=inputs)
    example_ids = {
        int(e.split(":", 1)[1])
        for e in row.provenance.get("examples", [])
        if ":" in e and e.split(":", 1)[1].isdigit()
    }  # this skill's own examples only: an imported provenance may name another workspace's
    examples = SkillExample.filter(skill=skill, id__in=list(example_ids))
    for example in await examples.prefetch_related("person"):
        owner = example.person
        if owner.id == erased.id:
            continue
        from bot.people import key_ref  # noqa: PLC0415

        key = vault.unwrap(owner.wrapped_key, key_ref(owner.tenant_id, owner.id))
        text = vault.decrypt(
            key, example.ciphertext, example_aad(owner.tenant_id, owner.id, skill.id)
        )
        materials.append(
            Material(f"example:{example.id}", owner.user_id, text, example.created_at, "example")
        )
    artifact = await opened(row, vault)
    kind = kind_for(artifact.get("kind", skill.kind))
    learned = kind.learn(materials) if materials else None
    corrections = [
        c
        for c in artifact.get("corrections", [])
        if c["by"] != erased.user_id and not c.get("skipped")
    ]
    if learned is None:
        await _retire(row)
        log.info("skill.retired_after_erasure", skill=skill.name, version=row.number)
        return
    rebuilt = {  # corrections are replayed on the learned defaults: the erased one's go
        **{k: v for k, v in artifact.items() if k not in ("body_authors",)},
        "template": learned.template,
        "description": skill.description,
        "corrections": [],
        "body": offline_body(skill.name, kind.name, learned.template, skill.description),
        "body_source": "offline",
    }
    rebuilt = replay(rebuilt, corrections)
    provenance = {
        **learned.provenance,
        "examples": [m.id for m in materials if m.id.startswith("example:")],
    }
    await store.save_artifact(row, rebuilt, provenance, vault, skill.tenant_id)
    contributors = dict(learned.contributors)
    for c in corrections:
        contributors.setdefault(c["by"], 0)
    contributors.pop(erased.user_id, None)
    await store.set_contributors(row, skill.tenant_id, contributors)
    log.info("skill.rebuilt_after_erasure", skill=skill.name, version=row.number)
