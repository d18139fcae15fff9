"""`weekly-report`: learn the team's recurring weekly post; fill it from one person's own week."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from skills.kind import Learned, RunRequest, RunResult, contributors_of
from skills.material import Material
from skills.report_items import Item, Router, extract
from skills.template import heading_line, mine, visible_sections
from skills.tokens import cjk_share

MIN_ITEMS = 1


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


def _chinese(request: RunRequest, sections: Sequence[dict]) -> bool:
    text = " ".join(s["heading"] for s in sections) + " ".join(m.text for m in request.materials)
    return cjk_share(text) > 0.3


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
    examples = [m for m in request.examples if m.author in request.live]
    router = Router.learn(sections, examples)
    items = extract(
        own,
        request.requester,
        router,
        pasted=bool(request.input_text.strip()),
        people=request.people,
    )
    label = request.period_label
    if len(items) < MIN_ITEMS:
        return RunResult(
            f"Not enough material for your report of {label}: I found {len(own)} of your "
            f"messages in this team's observed channels and no piece of work in them. I won't "
            "invent one — post your updates in an observed channel, or ask for another week "
            "with `--week YYYY-Www`.",
            ok=False,
            data={"items": []},
        )
    buckets: list[list[Item]] = [[] for _ in sections]
    for item in items:
        buckets[min(item.section, len(sections) - 1)].append(item)
    title = _title(template, request, fallback_title)
    bullet = template.get("bullet", "-")
    empty = (
        "（本周消息里没有找到）" if _chinese(request, sections) else "(nothing in your messages)"
    )
    sources: list[Material] = []
    lines = [title]
    for section, bucket in zip(sections, buckets, strict=True):
        lines.append(heading_line(template, section["heading"]))
        if not bucket:
            lines.append(f"{bullet} {empty}")
        for item in bucket:
            refs = []
            for source in item.sources:
                if source not in sources:
                    sources.append(source)
                refs.append(str(sources.index(source) + 1))
            mark = f"{bucket.index(item) + 1}." if bullet == "1." else bullet
            lines.append(f"{mark} {item.text} [{','.join(refs)}]")
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


def _title(template: dict, request: RunRequest, fallback: str) -> str:
    """The team's title for the requested week (its constant words, with week and date)."""
    title = template.get("title") or ""
    if not title or not set(template.get("title_authors", [])) & request.live:
        title = fallback
    if "{week}" not in title and "{date}" not in title:
        title = f"{title} {{week}}"
    day = request.now
    if request.period and not request.period[0] <= day < request.period[1]:
        day = request.period[1] - timedelta(days=3)  # the Friday of the requested week
    title = title.replace("{week}", request.period_label).replace("{date}", f"{day:%Y-%m-%d}")
    return title.replace("{name}", request.requester)


def template_summary(template: dict) -> list[str]:
    lines = []
    if template.get("title"):
        lines.append(f"title: {template['title']}")
    lines.append(
        f"learned from {template.get('posts', 0)} posts over {template.get('weeks', 0)} week(s); "
        f"bullets '{template.get('bullet', '-')}'"
    )
    for s in template.get("sections", []):
        state = {"done": "done", "progress": "in progress", "blocked": "blocked", "next": "next"}
        lines.append(
            f"section {s['heading']}: usually {s.get('usual_items', 0)} item(s); "
            f"holds work that is {state.get(s.get('state') or '', 'as the team files it')}"
        )
    return lines
