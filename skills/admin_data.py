"""What the admin skills pages show: skills as `/skill show` shows them, only what people
whose consent is in force taught (`visible_user_ids` + `visible_template`). Every query
names its tenant (invariant 9)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.consent.ledger import ConsentLedger
from bot.storage.models import Skill, SkillContribution, SkillVersion, Tenant
from bot.storage.vault import Vault
from skills import scope, store
from skills.material import visible_user_ids
from skills.sealed import opened
from skills.visibility import authors, source_owners, visible_template


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
    team: str = ""  # its channels, as people know them: "#checkout, #payments"

    @property
    def runs(self) -> int:
        return sum(v.run_count for v in self.versions)


async def skill_summaries(
    tenant: Tenant, ledger: ConsentLedger, vault: Vault, name: str | None = None
) -> list[SkillSummary]:
    """Every skill of the workspace (or every team's skill called `name`)."""
    found = []
    query = Skill.filter(tenant=tenant)
    if name is not None:
        query = query.filter(name=name)
    for skill in await query.order_by("name", "team"):
        rows = await store.versions(skill)
        row = await store.current(skill) or (rows[-1] if rows else None)
        view = await version_view(tenant, ledger, vault, skill, row) if row else None
        found.append(SkillSummary(skill, rows, view, await team_label(tenant, skill)))
    return found


async def team_label(tenant: Tenant, skill: Skill) -> str:
    names = await scope.channel_names(tenant)
    channels = scope.team_channels(skill.team)
    return ", ".join(f"#{names.get(c, c)}" for c in channels) or "the whole workspace"


async def live_authors(
    tenant: Tenant, ledger: ConsentLedger, *rows: SkillVersion | None
) -> set[str]:
    """Who of those who taught these versions still takes part (a diff shows only them)."""
    everyone: set[str] = set()
    for row in rows:
        if row is not None:
            everyone |= authors((row.artifact or {}).get("template", {}))
    return await visible_user_ids(tenant, ledger, everyone)


async def find_skill(tenant: Tenant, name: str, team: str = "") -> Skill | None:
    return await store.find_skill(tenant, name, team)


async def version_view(
    tenant: Tenant, ledger: ConsentLedger, vault: Vault, skill: Skill, row: SkillVersion
) -> VersionView:
    template = (await opened(row, vault)).get("template", {})
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
