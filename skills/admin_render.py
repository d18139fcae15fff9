"""HTML of the admin skills pages: versions, contributors, each section or rule with provenance."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from bot.storage.models import Skill, SkillVersion
from bot.web.admin_render import (
    Html,
    action_form,
    badge,
    code,
    esc,
    href,
    link,
    paragraph,
    table,
    when,
)
from skills.admin_data import Item, SkillSummary, VersionView


def skill_path(skill: Skill) -> str:
    """The page of one team's skill is this path with `team=` (when not workspace-wide)."""
    return "/admin/skills/" + quote(skill.name, safe="")


def _contributors(view: VersionView) -> str:
    shown = (
        ", ".join(
            f"{user} ({n} messages)" if n else f"{user} (corrections)"
            for user, n in view.contributors
        )
        or "none who still take part"
    )
    if view.hidden_contributors:
        shown += f" ({view.hidden_contributors} who withdrew are hidden)"
    return shown


def skills_body(ws: str, skills: Sequence[SkillSummary], title: str = "Skills") -> str:
    parts = [
        f"<h1>{esc(title)}</h1>",
        paragraph(
            "What the bot learned, version by version, and from whom, for each team (the "
            "channels a skill learned from and runs for). Only what people whose consent is in "
            "force taught is shown; a withdrawal hides their part at once."
        ),
    ]
    if not skills:
        parts.append(
            paragraph(
                "No skill yet. Someone learns one in chat with "
                "/skill learn weekly-report, or teaches one with /skill teach NAME.",
                "card muted",
            )
        )
        return "".join(parts)
    rows = []
    for s in skills:
        view = s.current
        state = Html(f"v{view.row.number} {badge(view.row.status)}") if view else "no version"
        rows.append(
            (
                link(href(skill_path(s.skill), ws=ws, team=s.skill.team), s.skill.name),
                s.team,
                s.skill.kind,
                state,
                len(s.versions),
                s.runs,
                s.skill.owner_user_id or "—",
                _contributors(view) if view else "—",
            )
        )
    parts.append(
        table(
            (
                "skill",
                "team",
                "kind",
                "current",
                "versions",
                "runs",
                "owner",
                "contributors (current version)",
            ),
            rows,
        )
    )
    return "".join(parts)


def _version_actions(
    ws: str, skill: Skill, row: SkillVersion, live: SkillVersion | None, csrf: str
) -> object:
    base = skill_path(skill)
    parts: list[str] = []
    if live is not None and live.id != row.id:
        parts.append(
            link(href(base + "/diff", ws=ws, team=skill.team, a=live.number, b=row.number), "diff")
        )
    if csrf and row.status == "draft":
        parts.append(
            action_form(
                base + "/publish",
                csrf,
                f"Publish v{row.number}",
                "btn",
                team=skill.team,
                v=str(row.number),
            )
        )
    if csrf and row.status == "archived":
        parts.append(
            action_form(
                base + "/rollback",
                csrf,
                f"Roll back to v{row.number}",
                "btn quiet",
                team=skill.team,
                v=str(row.number),
            )
        )
    return Html(" ".join(parts))


def _versions(
    ws: str, skill: Skill, rows: Sequence[SkillVersion], chosen: SkillVersion, csrf: str
) -> Html:
    live = next((r for r in rows if r.status == "published"), None)
    body = [
        (
            link(href(skill_path(skill), ws=ws, team=skill.team, v=r.number), f"v{r.number}"),
            badge(r.status),
            when(r.created_at),
            r.run_count,
            _version_actions(ws, skill, r, live, csrf),
        )
        for r in rows
    ]
    current = next(i for i, r in enumerate(rows) if r.id == chosen.id)
    return table(("version", "status", "created (UTC)", "runs", ""), body, current)


def _diff_lines(text: str) -> Html:
    lines = []
    for line in text.splitlines():
        cls = "add" if line.startswith("+") else "del" if line.startswith("-") else "same"
        lines.append(f'<span class="{cls}">{esc(line)}</span>')
    return Html(f'<pre class="diff">{"".join(lines)}</pre>')


def diff_body(ws: str, skill: Skill, old: SkillVersion | None, new: SkillVersion, text: str) -> str:
    since = f"v{old.number}" if old else "nothing"
    back = href(skill_path(skill), ws=ws, team=skill.team, v=new.number)
    return (
        f"<h1>{esc(skill.name)}: {esc(since)} → v{new.number}</h1>"
        + paragraph(
            "What changed in its sections and rules (lines starting with + were added, "
            "with - removed). Only what people whose consent is in force taught is shown."
        )
        + _diff_lines(text)
        + f"<p>{link(back, 'Back to the version')}</p>"
    )


def _item(item: Item) -> str:
    ids = ", ".join(str(code(s)) for s in item.sources) or "none listed"
    hidden = (
        f" · {item.hidden_sources} more from people who withdrew are hidden"
        if item.hidden_sources
        else ""
    )
    return (
        f'<li><div class="head">{badge(item.kind)}<span class="label">{esc(item.label)}</span>'
        f"</div><div>{esc(item.detail)}</div>"
        f'<div class="sources">observations: {ids}{esc(hidden)}</div></li>'
    )


def skill_body(
    ws: str,
    skill: Skill,
    rows: Sequence[SkillVersion],
    view: VersionView,
    team: str = "",
    changes: str | None = None,
    csrf: str = "",
) -> str:
    row = view.row
    parts = [
        f'<h1>{esc(skill.name)} <span class="muted">v{row.number}</span> {badge(row.status)}</h1>',
        paragraph(
            f"{skill.kind} · for {team or 'the whole workspace'} · "
            f"owner {skill.owner_user_id or '—'} · "
            f"{(row.artifact or {}).get('description', skill.description)}"
        ),
        "<h2>Versions</h2>",
        _versions(ws, skill, rows, row, csrf),
        f"<h2>Version {row.number}</h2>",
        '<div class="card">'
        f"<div><strong>Contributors:</strong> {esc(_contributors(view))}</div>"
        f"<div><strong>Runs of this version:</strong> {row.run_count}</div>"
        + (f"<div><strong>Title:</strong> {esc(view.title)}</div>" if view.title else "")
        + "</div>",
    ]
    if changes is not None and row.status != "retired":
        live = next((r for r in rows if r.status == "published"), None)
        since = f"published v{live.number}" if live else "nothing published yet"
        parts.append(f"<h2>Changes from {esc(since)}</h2>")
        parts.append(_diff_lines(changes))
    if row.status == "retired" or not row.artifact:
        parts.append(
            paragraph(
                "This version was retired: everyone it learned from erased "
                "their data, so nothing of it is kept.",
                "card muted",
            )
        )
    elif not view.items:
        parts.append(
            paragraph(
                "Nothing of this version is shown: everyone who taught it withdrew.", "card muted"
            )
        )
    else:
        parts.append("<h2>Sections and rules, with the observations they came from</h2>")
        parts.append(f'<ul class="items">{"".join(_item(i) for i in view.items)}</ul>')
    return "".join(parts)
