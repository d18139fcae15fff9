"""Skill quality on held-out team corpora, driving the running bot as the teams would.

All team corpora (bench/skill_corpus_teams/*.json, schema in its README) go into ONE console
workspace, each team in its own observed channel: people opt in by clicking Agree in their
DM (non-consenting people never do), then every message is posted with its time, so the
ConsentGate decides what is kept exactly as in production. Each team then types the slash
commands a team would: `/skill learn …`, `/skill weekly-report --week …`, `/skill code-review`
with a snippet, `/skill meeting-memo` with notes. Only the bot's replies are read (plus the
provenance of each learned rule, as the admin pages show it).

The earlier corpora (bench/skill_corpus, the one the first learners were tuned on, and
bench/skill_corpus_heldout) are converted to the same schema and kept as regression checks.
Exit status 1 when any output leaks a non-consenting person's words, or a run in one team's
channel used another team's skill.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.console.adapter import ConsoleAdapter  # noqa: E402
from adapters.console.normalize import Click, PostedMessage  # noqa: E402
from bot.app import Application  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.storage.models import Observation, Skill, SkillVersion  # noqa: E402
from skills.meeting_memo import LABELS  # noqa: E402
from skills.template import key  # noqa: E402
from skills.text import STOPWORDS  # noqa: E402

HERE = Path(__file__).parent
TEAMS = sorted((HERE / "skill_corpus_teams").glob("*.json"))
DEV = sorted((HERE / "skill_corpus_dev").glob("*.json"))  # the learners may be tuned on these
REGRESSION = {"skill_corpus": "tuned against", "skill_corpus_heldout": "first held-out"}
TARGETS = {
    "section recall": 1.0,
    "item precision": 0.9,
    "item recall": 0.9,
    "items in the right section": 0.9,
    "rule recall": 0.9,
    "violation precision": 0.9,
    "violation recall": 0.9,
    "meeting-type recall": 0.9,
    "type picked right": 0.9,
    "decision recall": 0.9,
    "action recall": 0.9,
    "unaddressed-issue recall": 0.9,
}
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d+[.)、])\s+(?P<text>.+?)(?:\s+\[[\d,]+\])?$")
_FOOTER = re.compile(r"learned from (?P<who>.+)$", re.M)
_RULE_ID = re.compile(r"\[(?P<id>r\d+)\]")


def when(week: str, day: int, hour: int, minute: int = 0) -> datetime:
    year, number = week.split("-W")
    monday = date.fromisocalendar(int(year), int(number), 1)
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC) + timedelta(
        days=day, hours=hour, minutes=minute
    )


@dataclass
class Tally:
    hit: int = 0
    total: int = 0

    def add(self, hit: int | bool, total: int = 1) -> None:
        self.hit += int(hit)
        self.total += total

    def __str__(self) -> str:
        return f"{self.hit}/{self.total} = {self.hit / self.total:.2f}" if self.total else "n/a"

    @property
    def value(self) -> float | None:
        return self.hit / self.total if self.total else None


@dataclass
class Figures:
    tallies: dict[str, Tally] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def t(self, name: str) -> Tally:
        return self.tallies.setdefault(name, Tally())

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def merge(self, other: Figures) -> None:
        for name, tally in other.tallies.items():
            self.t(name).add(tally.hit, tally.total)
        for name, n in other.counts.items():
            self.count(name, n)


# -- the workspace, as the teams use it ------------------------------------------------------


class Workspace:
    def __init__(self, app: Application) -> None:
        assert app.console is not None
        self.app = app
        self.console: ConsoleAdapter = app.console
        self.outputs: list[str] = []
        self.message_ids: dict[str, str] = {}  # console message id -> "<team>:<corpus id>"

    async def say(self, user: str, channel: str, text: str, at: datetime | None = None) -> str:
        """Post as `user`; the bot's answers (in the channel and in DMs), joined."""
        replies = await self.console.post(PostedMessage(user=user, channel=channel, text=text), at)
        text_out = "\n".join(r.text for r in replies if r.is_bot)
        self.outputs.append(text_out)
        return text_out

    async def dm_reply(self, user: str, channel: str, text: str, at: datetime) -> str:
        replies = await self.console.post(PostedMessage(user=user, channel=channel, text=text), at)
        mine = [r.text for r in replies if r.is_bot and r.channel == f"dm:{user}"]
        self.outputs.extend(r.text for r in replies if r.is_bot)
        return mine[-1] if mine else "\n".join(r.text for r in replies if r.is_bot)

    async def opt_in(self, person: str) -> None:
        replies = await self.console.post(
            PostedMessage(user=person, channel=f"dm:{person}", text="/skill optin")
        )
        agree = next(b for r in replies for b in r.buttons if b["label"] in ("Agree", "同意"))
        await self.console.click(
            Click(user=person, action_id=agree["action_id"], value=agree["value"])
        )

    async def post_history(self, team: str, channel: str, message: dict) -> None:
        at = when(message["week"], message["day"], message["hour"], message.get("minute", 0))
        text = message["text"].replace("{week}", message["week"])
        text = text.replace("{date}", f"{at:%Y-%m-%d}")
        before = len(self.console.messages(channel) or [])
        await self.console.post(
            PostedMessage(user=message["author"], channel=channel, text=text), at
        )
        posted = (self.console.messages(channel) or [])[before]
        self.message_ids[posted.id] = f"{team}:{message['id']}"

    async def rule_sources(self, channel: str) -> dict[str, list[str]]:
        """rule id -> corpus ids of the comments it was learned from (the skill's provenance)."""
        skills = await Skill.filter(name="code-review").all()
        found: dict[str, list[str]] = {}
        for skill in skills:
            if getattr(skill, "team", "") and channel not in skill.team.split(","):
                continue
            row = await SkillVersion.filter(skill=skill).order_by("-number").first()
            if row is None:
                continue
            for rule_id, ids in row.provenance.get("rules", {}).items():
                rows = await Observation.filter(id__in=ids).values_list("message_id", flat=True)
                found[rule_id] = [self.message_ids.get(m, "?") for m in rows]
            if getattr(skill, "team", ""):
                break
        return found


# -- reading the bot's answers ---------------------------------------------------------------


def parse_sections(text: str, headings: list[str]) -> tuple[str, dict[str, list[str]]]:
    """The first line and, under each known heading, the bullets' texts."""
    wanted = {key(h): h for h in headings}
    lines = [line for line in text.splitlines() if line.strip()]
    out: dict[str, list[str]] = {h: [] for h in headings}
    current = None
    for line in lines[1:]:
        if line.startswith("Sources:") or line.startswith("— "):
            break
        k = key(re.sub(r"^[#*_【\[\s]+|[*_】\]:：\s]+$", "", line))
        if k in wanted:
            current = wanted[k]
            continue
        match = _BULLET.match(line)
        empty = match and re.fullmatch(r"[(（].*[)）]", match["text"].strip())
        if match and current is not None and not empty:  # "(nothing in your messages)"
            out[current].append(match["text"].strip())
    return (lines[0] if lines else ""), out


def footer_people(text: str) -> set[str]:
    match = _FOOTER.search(text)
    if not match or "nobody" in match["who"]:
        return set()
    return {p.strip() for p in match["who"].split(",") if p.strip()}


def learned_sections(reply: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^• section (.+?): usually", reply, re.M)]


def learned_types(reply: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^• meeting type (.+?): \d+ notes", reply, re.M)]


def type_matches(name: str, aliases: list[str]) -> bool:
    k = key(name)
    return bool(k) and any(key(a) and (key(a) in k or k in key(a)) for a in aliases)


def memo_parts(text: str) -> tuple[str, dict[str, str]]:
    """The memo's type (its first line) and the text of each of its sections."""
    lines = text.splitlines()
    first = lines[0] if lines else ""
    kind = re.sub(r"^\*|\s*(memo|纪要)\*.*$|\*.*$", "", first).strip()
    parts: dict[str, list[str]] = {"decisions": [], "actions": [], "unaddressed": [], "other": []}
    names = {key(v): k for lang in LABELS.values() for k, v in lang.items()}
    current = "other"
    for line in lines[1:]:
        k = key(line.strip("*_ "))
        if k in names:
            current = names[k]
            continue
        if line.startswith("— "):
            break
        parts.setdefault(current, []).append(line)
    return kind, {k: "\n".join(v).lower() for k, v in parts.items()}


# -- one team ----------------------------------------------------------------------------


async def evaluate_team(ws: Workspace, team: dict, people_of: dict[str, str]) -> Figures:
    fig = Figures()
    channel, name = team["channel"], team["team"]
    expected = team["expected"]
    consenting = [p for p, ok in team["people"].items() if ok]
    members = set(team["people"])
    lead = consenting[0]
    friday = when(team["target_week"], 4, 18)

    def check_footer(text: str) -> None:
        others = footer_people(text) - members
        fig.count("runs", 1)
        fig.count("runs of another team's skill", 0)
        if others:
            fig.count("runs of another team's skill", 1)
            fig.notes.append(f"{name}: a run named people of another team: {sorted(others)}")

    # weekly-report
    wr = expected.get("weekly_report")
    if wr:
        learned = await ws.say(lead, channel, "/skill learn weekly-report", friday)
        got = learned_sections(learned)
        want = wr["sections"]
        fig.t("section recall").add(sum(key(s) in map(key, got) for s in want), len(want))
        in_order = [key(s) for s in got if key(s) in map(key, want)]
        fig.count("section order right", in_order == [key(s) for s in want if key(s) in in_order])
        fig.count("teams", 1)
        for person, items in wr["items"].items():
            report = await ws.dm_reply(
                person, channel, f"/skill weekly-report --week {team['target_week']}", friday
            )
            check_footer(report)
            title, sections = parse_sections(report, got or want)
            bullets = [(h, b) for h, bs in sections.items() for b in bs]
            fig.t("item precision").total += len(bullets)
            matched: set[int] = set()
            for item in items:
                holders = [
                    i for i, (_, b) in enumerate(bullets) if item["match"].lower() in b.lower()
                ]
                fig.t("item recall").add(bool(holders))
                fig.t("items in the right section").add(
                    any(key(bullets[i][0]) == key(item["section"]) for i in holders)
                )
                fig.count("duplicated bullets", max(0, len(holders) - 1))
                matched.update(holders)
            fig.t("item precision").hit += len(matched)
            for bad in wr.get("not_items", {}).get(person, []):
                fig.count(
                    "chit-chat or others' work in a report",
                    any(bad.lower() in b.lower() for _, b in bullets),
                )
            fig.t("titles naming the requested week").add(
                title_names_week(title, team["target_week"])
            )
            fig.t("titles with only the team's words").add(title_is_team_words(title, team, person))
        # From a DM, the person's own team's template.
        dm = await ws.dm_reply(
            lead, f"dm:{lead}", f"/skill weekly-report --week {team['target_week']}", friday
        )
        check_footer(dm)
        fig.t("DM runs using the person's team template").add(
            all(key(h) in dm.lower() or h in dm for h in (got or want)[:2])
        )

    # code-review
    cr = expected.get("code_review")
    if cr:
        learned = await ws.say(lead, channel, "/skill learn code-review", friday)
        sources = await ws.rule_sources(channel)
        rule_key: dict[str, str | None] = {}
        for rule_id, ids in sources.items():
            votes = {
                k: sum(f"{name}:{c}" in ids for c in spec["comments"])
                for k, spec in cr["rules"].items()
            }
            best = max(votes, key=lambda k: votes[k]) if votes else None
            rule_key[rule_id] = best if best and votes[best] * 2 >= len(ids) else None
        fig.t("rule recall").add(sum(k in rule_key.values() for k in cr["rules"]), len(cr["rules"]))
        fig.count("rules learned", len(sources))
        fig.count(
            "rules learned that are no team standard", sum(v is None for v in rule_key.values())
        )
        for snippet in cr["snippets"]:
            reply = await ws.say(lead, channel, "/skill code-review\n" + snippet["code"], friday)
            check_footer(reply)
            flagged = {rule_key.get(m["id"]) for m in _RULE_ID.finditer(reply)}
            hits = flagged & set(snippet["broken"])
            fig.t("violation precision").add(len(hits), len(flagged))
            fig.t("violation recall").add(len(hits), len(snippet["broken"]))

    # meeting-memo
    mm = expected.get("meeting_memo")
    if mm:
        learned = await ws.say(lead, channel, "/skill learn meeting-memo", friday)
        types = learned_types(learned)
        fig.t("meeting-type recall").add(
            sum(any(type_matches(t, aliases) for t in types) for aliases in mm["types"]),
            len(mm["types"]),
        )
        for notes in mm["notes"]:
            reply = await ws.say(lead, channel, "/skill meeting-memo\n" + notes["text"], friday)
            check_footer(reply)
            kind, parts = memo_parts(reply)
            fig.t("type picked right").add(type_matches(kind, notes["type"]))
            for field_name, part in (("decisions", "decisions"), ("actions", "actions")):
                for want in notes.get(field_name, []):
                    fig.t(f"{field_name[:-1]} recall").add(want.lower() in parts[part])
            for want in notes["unaddressed"]:
                fig.t("unaddressed-issue recall").add(want.lower() in parts["unaddressed"])
            listed = [
                line
                for line in parts["unaddressed"].splitlines()
                if line.startswith("- ") and "none found" not in line and "没有发现" not in line
            ]
            if notes["unaddressed"] and not listed:
                fig.count("false all-clear memos", 1)
            if re.search(
                r"every question was answered|all questions (were )?answered|都已解决", reply
            ):
                fig.count("'all answered' claims", 1)
    return fig


def title_names_week(title: str, week: str) -> bool:
    if week in title:
        return True
    start = when(week, 0, 0)
    return any(f"{start + timedelta(days=d):%Y-%m-%d}" in title for d in range(7))


def title_is_team_words(title: str, team: dict, person: str) -> bool:
    """Every word of the title was written by at least two people (or is the week, the date or
    the requester's own name, which the team's titles carry as a field)."""
    bare = re.sub(rf"\d{{4}}-W\d{{2}}|\d{{4}}-\d{{2}}-\d{{2}}|\b{re.escape(person)}\b", " ", title)
    tokens = set(re.findall(r"[A-Za-z]{2,}|[\u4e00-\u9fff]", bare))
    writers: dict[str, set[str]] = {}
    for m in team["messages"]:
        for t in set(re.findall(r"[A-Za-z]{2,}|[\u4e00-\u9fff]", m["text"])):
            writers.setdefault(t.lower(), set()).add(m["author"])
    return all(len(writers.get(t.lower(), set())) >= 2 for t in tokens)


@cache
def bot_vocabulary() -> frozenset[str]:
    """Every word in the bot's own source (its replies are written there)."""
    root = HERE.parent
    return frozenset(
        w.lower()
        for folder in ("bot", "skills", "adapters")
        for path in (root / folder).rglob("*.py")
        for w in re.findall(r"[A-Za-z][\w-]{4,}", path.read_text("utf-8"))
    )


def leaked_words(teams: list[dict], outputs: list[str]) -> set[str]:
    text = "\n".join(outputs).lower()
    watched: set[str] = set()
    for team in teams:
        refusing = {p for p, ok in team["people"].items() if not ok}
        watched.update(w.lower() for w in team.get("watch_words", []))
        vocab: dict[bool, set[str]] = {True: set(), False: set()}
        for m in team["messages"]:
            vocab[m["author"] in refusing].update(
                w.lower() for w in re.findall(r"[A-Za-z][\w-]{4,}", m["text"])
            )
        # "there" is no one's word, and a word the bot's own code says proves no leak.
        watched |= vocab[True] - vocab[False] - STOPWORDS - bot_vocabulary()
    # Words a consenting person wrote, or pasted into a command, are no leak.
    consented = {
        w.lower()
        for team in teams
        for text in [m["text"] for m in team["messages"] if team["people"].get(m["author"])]
        + [n["text"] for n in team["expected"].get("meeting_memo", {}).get("notes", [])]
        + [s["code"] for s in team["expected"].get("code_review", {}).get("snippets", [])]
        for w in re.findall(r"[A-Za-z][\w-]{4,}", text)
    }

    def said(word: str) -> bool:
        if re.search(r"[\u4e00-\u9fff]", word):
            return word in text
        return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None

    return {w for w in watched - consented if said(w)}


# -- the earlier corpora, as regression checks --------------------------------------------


def converted(folder: str) -> dict:
    """An earlier corpus in the team schema (its answers as they were written then)."""
    old = json.loads((HERE / folder / "corpus.json").read_text())
    messages = [{**m, "id": f"m{i:03d}"} for i, m in enumerate(old["messages"])]
    exp = old["expected"]
    consenting = {p for p, ok in old["people"].items() if ok}
    rules = {}
    for k, needle in exp["code_review"]["rules"].items():
        ids = [
            m["id"]
            for m in messages
            if m["author"] in consenting
            and "\n" not in m["text"].strip()
            and needle.lower() in m["text"].lower()
        ]
        rules[k] = {"comments": ids}
    return {
        "team": folder,
        "channel": old["channel"],
        "people": old["people"],
        "target_week": old["target_week"],
        "messages": messages,
        "expected": {
            "weekly_report": {
                "sections": exp["weekly_report"]["sections"],
                "items": {
                    p: [
                        {"match": i["text"].lower().rstrip(".!"), "section": i["section"]}
                        for i in items
                    ]
                    for p, items in exp["weekly_report"]["items"].items()
                },
            },
            "code_review": {"rules": rules, "snippets": exp["code_review"]["snippets"]},
            "meeting_memo": {
                "types": [[t] for t in exp["meeting_memo"]["types"]],
                "notes": [
                    {"text": n["text"], "type": [n["type"]], "unaddressed": n["unaddressed"]}
                    for n in exp["meeting_memo"]["notes"]
                ],
            },
        },
    }


# -- running it ------------------------------------------------------------------------------


async def run_workspace(teams: list[dict]) -> tuple[dict[str, Figures], set[str]]:
    with tempfile.TemporaryDirectory(prefix="apprentice-bench-") as tmp:
        settings = Settings(
            data_dir=Path(tmp), demo=False, console=True, web_port=0, log_level="WARNING"
        )
        from bot.logging import configure

        configure("WARNING", "console")
        app = Application(settings)
        await app.start(serve_web=False)
        try:
            ws = Workspace(app)
            people_of = {p: t["team"] for t in teams for p in t["people"]}
            for team in teams:
                await ws.say("admin", team["channel"], f"/skill admin observe #{team['channel']}")
                for person, agrees in team["people"].items():
                    if agrees:
                        await ws.opt_in(person)
            history = sorted(
                ((t, m) for t in teams for m in t["messages"]),
                key=lambda tm: when(
                    tm[1]["week"], tm[1]["day"], tm[1]["hour"], tm[1].get("minute", 0)
                ),
            )
            for team, message in history:
                await ws.post_history(team["team"], team["channel"], message)
            figures = {t["team"]: await evaluate_team(ws, t, people_of) for t in teams}
            leaked = leaked_words(teams, ws.outputs)
        finally:
            await app.stop()
    return figures, leaked


def verdict(name: str, tally: Tally) -> str:
    target = TARGETS.get(name)
    if target is None or tally.value is None:
        return ""
    return "  ✓" if tally.value >= target else f"  ✗ (target ≥ {target})"


def report(label: str, figures: dict[str, Figures], leaked: set[str]) -> int:
    total = Figures()
    for fig in figures.values():
        total.merge(fig)
    print(f"\n== {label}")
    names = sorted(
        {n for f in figures.values() for n in f.tallies}, key=list(TARGETS).index if False else str
    )
    for n in names:
        per_team = "  ".join(f"{t}: {f.tallies[n]}" for t, f in figures.items() if n in f.tallies)
        print(f"   {n}: {total.t(n)}{verdict(n, total.t(n))}    [{per_team}]")
    for n, value in sorted(total.counts.items()):
        print(f"   {n}: {value}")
    for fig in figures.values():
        for note in fig.notes:
            print(f"   note: {note}")
    print(
        f"   words of non-consenting people in any output: {len(leaked)}"
        + (f" {sorted(leaked)}" if leaked else "")
    )
    cross = total.counts.get("runs of another team's skill", 0)
    return 1 if leaked or cross else 0


async def main() -> int:
    teams = [json.loads(p.read_text()) for p in TEAMS]
    status = 0
    figures, leaked = await run_workspace(teams)
    status |= report(
        f"held-out teams in one workspace ({', '.join(t['team'] for t in teams)})", figures, leaked
    )
    if DEV:
        dev = [json.loads(p.read_text()) for p in DEV]
        figures, leaked = await run_workspace(dev)
        status |= report("development set (the learners are tuned on it)", figures, leaked)
    for folder, label in REGRESSION.items():
        figures, leaked = await run_workspace([converted(folder)])
        status |= report(f"regression: {folder} ({label})", figures, leaked)
    return status


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
