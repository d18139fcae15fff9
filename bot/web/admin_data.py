"""What the admin pages show, read from the database. Every query names its tenant (inv. 9).

Skills are shown as `/skill show` shows them: only what people whose consent is in force
taught (`visible_user_ids` + `visible_template`, the skills engine's own helpers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tortoise.expressions import Q

from bot.consent.ledger import ConsentLedger
from bot.storage.models import (
    AuditEntry,
    Channel,
    ConsentEvent,
    Observation,
    Skill,
    SkillContribution,
    SkillVersion,
    Tenant,
)
from skills import store
from skills.material import live_people, visible_user_ids
from skills.visibility import authors, source_owners, visible_template

PAGE_SIZE = 200


def workspace_key(tenant: Tenant) -> str:
    """How a workspace is named in links and in the audit log: `platform:external_id`."""
    return f"{tenant.platform}:{tenant.external_id}"


async def all_tenants() -> list[Tenant]:
    return await Tenant.all().order_by("platform", "external_id")


async def find_tenant(key: str) -> Tenant | None:
    platform, _, external_id = key.partition(":")
    if not platform or not external_id:
        return None
    return await Tenant.get_or_none(platform=platform, external_id=external_id)


# -- overview --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Overview:
    channels: list[Channel]
    people_in_force: int
    messages_kept: int
    consent_records: int


async def overview(tenant: Tenant, ledger: ConsentLedger) -> Overview:
    return Overview(
        channels=await Channel.filter(tenant=tenant).order_by("-observed", "name"),
        people_in_force=len(await live_people(tenant, ledger)),
        messages_kept=await Observation.filter(tenant=tenant).count(),
        consent_records=await ConsentEvent.filter(tenant=tenant).count(),
    )


async def channel_names(tenant: Tenant) -> dict[str, str]:
    rows = await Channel.filter(tenant=tenant).values_list("channel_id", "name")
    return {channel_id: name for channel_id, name in rows}


# -- consent ledger and audit log ----------------------------------------------------------


async def consent_events(
    tenant: Tenant, user: str | None, before: int | None
) -> list[ConsentEvent]:
    query = ConsentEvent.filter(tenant=tenant)
    if user:
        query = query.filter(user_id=user)
    if before is not None:
        query = query.filter(id__lt=before)
    return await query.order_by("-id").limit(PAGE_SIZE)


async def ledger_users(tenant: Tenant) -> list[str]:
    rows = await ConsentEvent.filter(tenant=tenant).distinct().values_list("user_id", flat=True)
    return sorted({str(user) for user in rows})


async def audit_entries(
    tenant: Tenant, pseudonym: str | None, before: int | None
) -> list[AuditEntry]:
    query = AuditEntry.filter(tenant_key=workspace_key(tenant))
    if pseudonym:
        query = query.filter(Q(actor=pseudonym) | Q(subject=pseudonym))
    if before is not None:
        query = query.filter(id__lt=before)
    return await query.order_by("-id").limit(PAGE_SIZE)


# -- skills ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Item:
    """One section, rule or meeting type a live person taught, and the observations behind it."""

    kind: str
    label: str
    detail: str
    sources: list[str] = field(default_factory=list)
    hidden_sources: int = 0


@dataclass(slots=True)
class VersionView:
    row: SkillVersion
    contributors: list[tuple[str, int]]  # (user id, observations) of people shown
    hidden_contributors: int
    title: str
    items: list[Item]


@dataclass(slots=True)
class SkillSummary:
    skill: Skill
    versions: list[SkillVersion]
    current: VersionView | None

    @property
    def runs(self) -> int:
        return sum(v.run_count for v in self.versions)


async def skill_summaries(tenant: Tenant, ledger: ConsentLedger) -> list[SkillSummary]:
    found = []
    for skill in await Skill.filter(tenant=tenant).order_by("name"):
        rows = await store.versions(skill)
        row = await store.current(skill) or (rows[-1] if rows else None)
        view = await version_view(tenant, ledger, skill, row) if row else None
        found.append(SkillSummary(skill, rows, view))
    return found


async def find_skill(tenant: Tenant, name: str) -> Skill | None:
    return await store.find_skill(tenant, name)


async def version_view(
    tenant: Tenant, ledger: ConsentLedger, skill: Skill, row: SkillVersion
) -> VersionView:
    template = (row.artifact or {}).get("template", {})
    contributions = await SkillContribution.filter(version=row).prefetch_related("person")
    counts = {c.person.user_id: c.observations for c in contributions}
    live = await visible_user_ids(tenant, ledger, set(counts) | authors(template))
    view = visible_template(template, live)
    items = _items(view, row.provenance or {})
    await _hide_sources_of_others(tenant, skill, items, live)
    return VersionView(
        row=row,
        contributors=[(u, n) for u, n in sorted(counts.items()) if u in live],
        hidden_contributors=len([u for u in counts if u not in live]),
        title=view.get("title", ""),
        items=items,
    )


def _items(view: dict, provenance: dict) -> list[Item]:
    items: list[Item] = []
    for s in view.get("sections", []):
        words = ", ".join(list(s.get("keywords", {}))[:6]) or "-"
        detail = (
            f"usually {s.get('usual_items', 0)} item(s) of ~{s.get('usual_words', 0)} words; "
            f"routed by: {words}"
        )
        items.append(_item("section", s["heading"], detail, provenance, "sections", s["heading"]))
    for r in view.get("rules", []):
        applies = ", ".join(p["what"] for p in r.get("patterns", [])) or "no code pattern"
        detail = f"“{r['text']}” — {r.get('comments', 0)} comments; applies to: {applies}"
        items.append(_item("rule", r["id"], detail, provenance, "rules", r["id"]))
    for t in view.get("types", []):
        detail = f"{t.get('notes', 0)} notes; template: {', '.join(t.get('fields', [])) or '-'}"
        items.append(_item("meeting type", t["name"], detail, provenance, "types", t["name"]))
    return items


def _item(kind: str, label: str, detail: str, provenance: dict, group: str, key: str) -> Item:
    sources = provenance.get(group, {}).get(key, [])
    return Item(kind, label, detail, [str(s) for s in sources])


async def _hide_sources_of_others(
    tenant: Tenant, skill: Skill, items: list[Item], live: set[str]
) -> None:
    """An observation id is listed only when its author is shown; ids whose author is no
    longer known (expired, erased, or made in another workspace) carry nothing and stay."""
    owners = await source_owners(tenant, skill, {s for i in items for s in i.sources})
    for item in items:
        shown = [s for s in item.sources if s not in owners or owners[s] in live]
        item.hidden_sources = len(item.sources) - len(shown)
        item.sources = shown
