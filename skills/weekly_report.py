"""`weekly-report`: learn the team's recurring weekly post; fill it from one person's own week."""

from __future__ import annotations

from collections.abc import Sequence

from skills.kind import Learned, RunRequest, RunResult, contributors_of
from skills.material import Material
from skills.template import (
    extract_items,
    heading_line,
    mine,
    route,
    visible_sections,
)

MIN_ITEMS = 2


class WeeklyReport:
    name = "weekly-report"
    description = (
        "Drafts a person's weekly report in the team's own template (sections, order, bullet "
        "style) from that person's consented messages of the week, each bullet traceable to "
        "its source messages. Use when someone asks for their weekly report or status update."
    )
    input = "week"

    def learn(self, materials: Sequence[Material]) -> Learned | None:
        mined = mine(materials, weekly=True)
        if mined is None:
            return None
        template, provenance = mined
        return Learned(template, provenance, contributors_of(materials, set(provenance["inputs"])))

    def run(self, template: dict, request: RunRequest) -> RunResult:
        return fill(template, request, fallback_title="Weekly report {week}")

    def summary(self, template: dict) -> list[str]:
        return template_summary(template)


def fill(template: dict, request: RunRequest, *, fallback_title: str) -> RunResult:
    """Fill the template from the requester's own messages only; never invent."""
    sections = visible_sections(template, request.live)
    own = [m for m in request.materials if m.author == request.requester]
    if not sections:
        return RunResult(
            "This skill has nothing to run on yet: nobody who still takes part taught it a "
            "template. Run `/skill learn` again once people have posted in observed channels.",
            ok=False,
        )
    items = extract_items(own, request.requester)
    label = request.period_label
    if len(items) < MIN_ITEMS:
        return RunResult(
            f"Not enough material for your report of {label}: I found {len(own)} of your "
            f"messages in observed channels and {len(items)} piece(s) of work in them (I need "
            f"at least {MIN_ITEMS}). I won't invent the rest — post your updates in an observed "
            "channel, or ask for another week with `--week YYYY-Www`.",
            ok=False,
            data={"items": [i.text for i in items]},
        )
    buckets: list[list] = [[] for _ in sections]
    for item in items:
        buckets[route(item, sections)].append(item)
    title_template = template.get("title") or fallback_title
    if not set(template.get("title_authors", [])) & request.live:
        title_template = fallback_title
    title = title_template.replace("{week}", label).replace(
        "{date}", request.now.strftime("%Y-%m-%d")
    )
    bullet = template.get("bullet", "-")
    sources: list[Material] = []
    lines = [title]
    for section, bucket in zip(sections, buckets, strict=True):
        lines.append(heading_line(template, section["heading"]))
        if not bucket:
            lines.append(f"{bullet} (none)")
        for item in bucket:
            refs = []
            for source in item.sources:
                if source not in sources:
                    sources.append(source)
                refs.append(str(sources.index(source) + 1))
            lines.append(f"{bullet} {item.text} [{','.join(refs)}]")
    lines.append("")
    lines.append(
        "Sources: "
        + " · ".join(
            f"[{n}] #{s.channel} {s.occurred_at:%a %d %b %H:%M}" for n, s in enumerate(sources, 1)
        )
    )
    return RunResult(
        "\n".join(lines),
        data={
            "title": title,
            "sections": [
                {
                    "heading": s["heading"],
                    "items": [
                        {"text": i.text, "sources": [m.id for m in i.sources]} for i in bucket
                    ],
                }
                for s, bucket in zip(sections, buckets, strict=True)
            ],
        },
    )


def template_summary(template: dict) -> list[str]:
    lines = []
    if template.get("title"):
        lines.append(f"title: {template['title']}")
    lines.append(
        f"learned from {template.get('posts', 0)} posts over {template.get('weeks', 0)} week(s); "
        f"bullets '{template.get('bullet', '-')}'"
    )
    for s in template.get("sections", []):
        words = ", ".join(list(s.get("keywords", {}))[:6])
        lines.append(
            f"section {s['heading']}: usually {s.get('usual_items', 0)} item(s) of "
            f"~{s.get('usual_words', 0)} words; routed by: {words or '-'}"
        )
    return lines
