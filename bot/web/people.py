"""The admin People page: how much is held about each person (counts only, never text),
and erasing one, behind a confirmation, as `/skill admin revoke` does."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from bot.consent.ledger import ConsentLedger
from bot.consent.notices import Purpose
from bot.storage.models import Channel, Observation, Person, SkillContribution, SkillExample, Tenant
from bot.web.admin_render import Html, action_form, code, esc, link, paragraph, table, when


@dataclass(slots=True)
class PersonRow:
    user_id: str
    consents: list[str]
    messages: int = 0
    per_channel: dict[str, int] = field(default_factory=dict)
    first: datetime | None = None
    last: datetime | None = None
    skill_versions: int = 0
    examples: int = 0


async def load_people(tenant: Tenant, ledger: ConsentLedger) -> list[PersonRow]:
    """Everyone the bot holds something about in this workspace (a Person row exists once
    someone opted in, until they erase)."""
    people = await Person.filter(tenant=tenant).order_by("user_id")
    names = {
        cid: name or channel_id
        for cid, channel_id, name in await Channel.filter(tenant=tenant).values_list(
            "id", "channel_id", "name"
        )
    }
    by_person: dict[str, PersonRow] = {}
    for person in people:
        live = [p.value for p in Purpose if await ledger.live_grant(tenant, person.user_id, p)]
        by_person[str(person.id)] = PersonRow(person.user_id, live)
    counts: dict[str, Counter[str]] = {key: Counter() for key in by_person}
    rows = await Observation.filter(tenant=tenant).values_list(
        "person_id", "channel_id", "occurred_at"
    )
    for person_id, channel_id, moment in rows:
        row = by_person.get(str(person_id))
        if row is None:
            continue
        counts[str(person_id)][names.get(channel_id, str(channel_id))] += 1
        row.messages += 1
        row.first = moment if row.first is None or moment < row.first else row.first
        row.last = moment if row.last is None or moment > row.last else row.last
    for key, row in by_person.items():
        row.per_channel = dict(sorted(counts[key].items()))
    ids = list(by_person)
    for (person_id,) in await SkillContribution.filter(person_id__in=ids).values_list("person_id"):
        by_person[str(person_id)].skill_versions += 1
    for (person_id,) in await SkillExample.filter(person_id__in=ids).values_list("person_id"):
        by_person[str(person_id)].examples += 1
    return list(by_person.values())


def erase_path(user_id: str) -> str:
    return "/admin/people/erase?user=" + quote(user_id, safe="")


def _channels(row: PersonRow) -> str:
    return ", ".join(f"#{name}: {n}" for name, n in row.per_channel.items()) or "—"


def people_body(ws: str, rows: Sequence[PersonRow], may_act: bool) -> str:
    parts = [
        "<h1>People</h1>",
        paragraph(
            "What is held about each person who ever opted in: counts, never their words. "
            "Erasing someone does what /skill admin revoke does: their messages, key and "
            "part in every skill are deleted, and they get a receipt."
        ),
    ]
    if not rows:
        parts.append(paragraph("Nobody has opted in in this workspace yet.", "card muted"))
        return "".join(parts)
    body = [
        (
            code(r.user_id),
            ", ".join(r.consents) or "none (withdrawn)",
            r.messages,
            _channels(r),
            Html(f"{when(r.first)} – {when(r.last)}") if r.first else "—",
            r.skill_versions,
            r.examples,
            link(erase_path(r.user_id), "Erase…") if may_act else "",
        )
        for r in rows
    ]
    headers = (
        "person",
        "consent in force",
        "messages kept",
        "per channel",
        "from – to (UTC)",
        "skill versions",
        "taught examples",
        "",
    )
    parts.append(table(headers, body))
    del ws
    return "".join(parts)


def confirm_erase_body(user_id: str, row: PersonRow | None, csrf: str) -> str:
    held = (
        f"{row.messages} messages ({_channels(row)}), a part in {row.skill_versions} skill "
        f"versions and {row.examples} taught examples"
        if row
        else "nothing held right now (their consent records stay, as the law asks)"
    )
    return (
        f"<h1>Erase everything held about {esc(user_id)}?</h1>"
        + paragraph(
            f"This deletes {held}, destroys their encryption key, withdraws their consent and "
            "rebuilds every skill without them. It cannot be undone. They get a receipt by "
            "direct message, and the audit log records it as an admin revocation by you."
        )
        + '<div class="actions">'
        + action_form(
            "/admin/people/erase",
            csrf,
            f"Yes, erase {user_id}",
            "btn danger",
            user=user_id,
            confirm="erase",
        )
        + f" {link('/admin/people', 'No, keep it')}</div>"
    )
