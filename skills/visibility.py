"""What of an artifact may be shown: only what people whose grant is in force taught."""

from __future__ import annotations

from bot.storage.models import Observation, Skill, SkillExample, Tenant
from skills.code_review import quote, visible_rules
from skills.material import split_sources
from skills.template import visible_sections


def authors(template: dict) -> set[str]:
    """Everyone whose words the template carries."""
    found: set[str] = set(template.get("title_authors", []))
    for group in ("sections", "rules", "types"):
        for item in template.get(group, []):
            found.update(item.get("authors", []))
    return found


def visible_template(template: dict, live: set[str]) -> dict:
    """A copy holding only the parts, words and quotes of people in `live`."""
    view = dict(template)
    if "sections" in template:
        view["sections"] = [
            {**s, "authors": [a for a in s.get("authors", []) if a in live]}
            for s in visible_sections(template, live)
        ]
    if "rules" in template:
        view["rules"] = [
            {
                **r,
                "text": quote(r, live),
                "quotes": [q for q in r.get("quotes", []) if q["author"] in live],
                "authors": [a for a in r.get("authors", []) if a in live],
            }
            for r in visible_rules(template, live)
        ]
    if "types" in template:
        view["types"] = [
            {**t, "authors": [a for a in t.get("authors", []) if a in live]}
            for t in template["types"]
            if set(t.get("authors", [])) & live
        ]
    if "title" in template and not set(template.get("title_authors", [])) & live:
        view["title"] = ""
    if "title_authors" in template:
        view["title_authors"] = [a for a in template["title_authors"] if a in live]
    return view


def patterns_only_of(view: dict, allowed: set[str]) -> dict:
    """The view with each rule's code patterns kept only when everyone whose comments they
    came from is in `allowed` (a backticked fragment is someone's words too)."""
    if "rules" not in view:
        return view
    return {
        **view,
        "rules": [
            r if set(r.get("authors", [])) <= allowed else {**r, "patterns": []}
            for r in view["rules"]
        ],
    }


async def source_owners(tenant: Tenant, skill: Skill, ids: set[str]) -> dict[str, str]:
    """Who wrote each observation or taught example named in a provenance (by id)."""
    observation_ids, example_ids = split_sources(ids)
    owners: dict[str, str] = {}
    if observation_ids:
        rows = await Observation.filter(tenant=tenant, id__in=observation_ids).values_list(
            "id", "person__user_id"
        )
        owners.update({str(row_id): user for row_id, user in rows})
    if example_ids:
        rows = await SkillExample.filter(skill=skill, id__in=example_ids).values_list(
            "id", "person__user_id"
        )
        owners.update({f"example:{row_id}": user for row_id, user in rows})
    return owners


async def visible_provenance(
    tenant: Tenant, skill: Skill, provenance: dict, live: set[str]
) -> dict:
    """The provenance with the ids of withdrawn authors' messages left out."""
    ids = {
        str(i)
        for group in provenance.values()
        if isinstance(group, dict)
        for sources in group.values()
        if isinstance(sources, list)
        for i in sources
    }
    owners = await source_owners(tenant, skill, ids)

    def keep(sources: object) -> object:
        if not isinstance(sources, list):
            return sources
        return [s for s in sources if str(s) not in owners or owners[str(s)] in live]

    return {
        name: {key: keep(value) for key, value in group.items()}
        if isinstance(group, dict)
        else keep(group)
        for name, group in provenance.items()
    }
