"""Skill quality on an evaluation corpus with known answers (bench/skill_corpus*/corpus.json).

Runs the real application (console platform, temporary SQLite file): the corpus is posted
through the bus, so the ConsentGate decides what is kept, exactly as in production; then the
three built-in skills are learned and run with the offline engine. Prints per skill:
template/section recall, item precision and recall, rule recall, unaddressed-issue recall,
and how many words of people who did not consent leaked into any output (must be 0).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.console.normalize import Click, PostedMessage  # noqa: E402
from bot.app import Application  # noqa: E402
from bot.settings import Settings  # noqa: E402

CORPORA = {  # folder -> label; each holds a corpus.json in the same schema
    "skill_corpus": "tuned against",
    "skill_corpus_heldout": "held out",
}


def when(week: str, day: int, hour: int) -> datetime:
    year, number = week.split("-W")
    monday = date.fromisocalendar(int(year), int(number), 1)
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC) + timedelta(
        days=day, hours=hour
    )


def ratio(hit: int, total: int) -> str:
    return f"{hit}/{total} = {hit / total:.2f}" if total else "n/a"


async def seed(app: Application, corpus: dict) -> None:
    console = app.console
    assert console is not None
    channel = corpus["channel"]
    await console.post(
        PostedMessage(user="admin", channel=channel, text=f"/skill admin observe #{channel}")
    )
    for person, agrees in corpus["people"].items():
        if not agrees:
            continue
        replies = await console.post(
            PostedMessage(user=person, channel=f"dm:{person}", text="/skill optin")
        )
        agree = next(b for r in replies for b in r.buttons if b["label"] == "Agree")
        await console.click(Click(user=person, action_id=agree["action_id"], value=agree["value"]))
    for m in corpus["messages"]:
        at = when(m["week"], m["day"], m["hour"])
        text = m["text"].replace("{week}", m["week"]).replace("{date}", f"{at:%Y-%m-%d}")
        await console.post(PostedMessage(user=m["author"], channel=channel, text=text), at)


def distinctive_words(corpus: dict) -> set[str]:
    """Words only people who did not consent wrote."""

    def vocab(authors: set[str]) -> set[str]:
        found: set[str] = set()
        for m in corpus["messages"]:
            if m["author"] in authors:
                found |= {w.lower() for w in re.findall(r"[A-Za-z][\w-]{3,}", m["text"])}
        return found

    refusing = {p for p, ok in corpus["people"].items() if not ok}
    consenting = set(corpus["people"]) - refusing
    return vocab(refusing) - vocab(consenting)


async def evaluate(app: Application, corpus: dict) -> dict[str, dict[str, str]]:
    engine = app.services.skills.engine
    tenant = await app.services.directory.tenant("console", "local")
    expected = corpus["expected"]
    outputs: list[str] = []
    figures: dict[str, dict[str, str]] = {}
    now = when(corpus["target_week"], 4, 18)

    # weekly-report
    learned = await engine.learn(tenant, "weekly-report", "admin")
    outputs.append(learned.text)
    template = learned.version.artifact["template"] if learned.version else {"sections": []}
    got_sections = [s["heading"] for s in template["sections"]]
    want_sections = expected["weekly_report"]["sections"]
    section_hits = sum(1 for s in want_sections if s in got_sections)
    order_ok = [s for s in got_sections if s in want_sections] == [
        s for s in want_sections if s in got_sections
    ]
    tp = produced = wanted = 0
    for person, items in expected["weekly_report"]["items"].items():
        reply = await engine.run(tenant, "weekly-report", person, now=now)
        outputs.append(reply.text)
        got = [
            (i["text"].lower(), s["heading"])
            for s in (reply.data or {}).get("sections", [])
            for i in s["items"]
        ]
        produced += len(got)
        wanted += len(items)
        for item in items:
            key = " ".join(item["text"].lower().split()[1:4])
            tp += any(key in text and heading == item["section"] for text, heading in got)
    figures["weekly-report"] = {
        "section recall": ratio(section_hits, len(want_sections)),
        "section order": "same as the team's" if order_ok else "differs",
        "item precision": ratio(tp, produced),
        "item recall": ratio(tp, wanted),
    }

    # code-review
    learned = await engine.learn(tenant, "code-review", "admin")
    outputs.append(learned.text)
    rules = learned.version.artifact["template"]["rules"] if learned.version else []
    want_rules = expected["code_review"]["rules"]
    rule_for = {
        key: next((r["id"] for r in rules if needle.lower() in r["text"].lower()), None)
        for key, needle in want_rules.items()
    }
    hits = flagged = should = 0
    for snippet in expected["code_review"]["snippets"]:
        reply = await engine.run(tenant, "code-review", "ines", input_text=snippet["code"], now=now)
        outputs.append(reply.text)
        broken = set((reply.data or {}).get("broken", []))
        want = {rule_for[k] for k in snippet["broken"] if rule_for[k]}
        hits += len(broken & want)
        flagged += len(broken)
        should += len(snippet["broken"])
    figures["code-review"] = {
        "rule recall": ratio(sum(1 for v in rule_for.values() if v), len(want_rules)),
        "rules learned": str(len(rules)),
        "violation precision": ratio(hits, flagged),
        "violation recall": ratio(hits, should),
    }

    # meeting-memo
    learned = await engine.learn(tenant, "meeting-memo", "admin")
    outputs.append(learned.text)
    types = (
        [t["name"] for t in learned.version.artifact["template"]["types"]]
        if learned.version
        else []
    )
    want_types = expected["meeting_memo"]["types"]
    type_hits = found = total = picked = 0
    for notes in expected["meeting_memo"]["notes"]:
        reply = await engine.run(tenant, "meeting-memo", "lena", input_text=notes["text"], now=now)
        outputs.append(reply.text)
        data = reply.data or {}
        picked += data.get("type") == notes["type"]
        open_items = " ".join(data.get("unaddressed", [])).lower()
        total += len(notes["unaddressed"])
        found += sum(1 for u in notes["unaddressed"] if u.lower() in open_items)
        type_hits += 0
    figures["meeting-memo"] = {
        "meeting-type recall": ratio(sum(1 for t in want_types if t in types), len(want_types)),
        "type picked right": ratio(picked, len(expected["meeting_memo"]["notes"])),
        "unaddressed-issue recall": ratio(found, total),
    }

    secret = distinctive_words(corpus)
    leaked = {
        w for text in outputs for w in re.findall(r"[A-Za-z][\w-]{3,}", text.lower()) if w in secret
    }
    figures["all skills"] = {
        "non-contributor words leaked into outputs": f"{len(leaked)} (must be 0)"
        + (f": {sorted(leaked)}" if leaked else ""),
        "distinct non-contributor words watched": str(len(secret)),
    }
    return figures


async def main() -> int:
    status = 0
    for folder, label in CORPORA.items():
        print(f"== corpus: {folder} ({label})")
        status |= await bench(
            json.loads((Path(__file__).parent / folder / "corpus.json").read_text())
        )
    return status


async def bench(corpus: dict) -> int:
    with tempfile.TemporaryDirectory(prefix="apprentice-bench-") as tmp:
        settings = Settings(
            data_dir=Path(tmp), demo=False, console=True, web_port=0, log_level="WARNING"
        )
        from bot.logging import configure

        configure("WARNING", "console")
        app = Application(settings)
        await app.start(serve_web=False)
        try:
            await seed(app, corpus)
            figures = await evaluate(app, corpus)
        finally:
            await app.stop()
    for skill, values in figures.items():
        print(f"== {skill}")
        for name, value in values.items():
            print(f"   {name}: {value}")
    leaked = figures["all skills"]["non-contributor words leaked into outputs"]
    return 0 if leaked.startswith("0 ") else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
