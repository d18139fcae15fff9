"""The skills engine: learn, run, show, teach, correct, publish and roll back skills.

Chat commands, the CLI and the scheduler's synthetic commands all come here, so `apprentice
skills run … --as …` prints exactly what the chat command would answer.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import structlog

from bot.consent.ledger import ConsentLedger
from bot.consent.notices import Purpose
from bot.observations import ObservationStore
from bot.people import key_ref
from bot.redact import redact
from bot.settings import Settings
from bot.storage.models import Person, Skill, SkillExample, SkillVersion, Tenant
from bot.storage.vault import Vault
from skills import agentskills, llm, store
from skills.body import offline_body
from skills.catalog import SkillCatalog
from skills.corrections import CorrectionError, apply, replay
from skills.kind import Learned, RunRequest, SkillKind
from skills.kinds import BUILTIN, TAUGHT, kind_for
from skills.material import (
    Material,
    live_people,
    live_user_ids,
    read_people,
    read_person,
    visible_user_ids,
)
from skills.model_run import run_with_model
from skills.reply import Reply
from skills.scope import channel_names, team_channels
from skills.sealed import opened
from skills.text import iso_week_label, parse_iso_week, week_bounds
from skills.visibility import authors, patterns_only_of, visible_template

log = structlog.get_logger(__name__)

FORMAT = 1
NAME_RULE = (
    "Skill names are 1-64 lowercase letters, digits and single hyphens (e.g. `standup-digest`), "
    "so they can be exported as Agent Skills."
)


def valid_name(name: str) -> bool:
    return not agentskills.name_problems(name)


def example_aad(tenant_id: int, person_id: uuid.UUID, skill_id: int) -> str:
    return f"example|{tenant_id}|{person_id}|{skill_id}"


class SkillEngine(SkillCatalog):
    def __init__(
        self,
        *,
        settings: Settings,
        ledger: ConsentLedger,
        observations: ObservationStore,
        vault: Vault,
        model: llm.ModelClient | None = None,
    ) -> None:
        self.settings = settings
        self.ledger = ledger
        self.observations = observations
        self.vault = vault
        self.model = model if model is not None else llm.ModelClient(settings)

    # -- learning --------------------------------------------------------------------------

    async def learn(self, tenant: Tenant, name: str, by: str | None, team: str = "") -> Reply:
        """Learn a new draft version of the team's `name` from everyone who consents now,
        reading only the team's channels ("" learns workspace-wide, from every channel)."""
        skill = await store.find_skill(tenant, name, team)
        kind = self._kind(name, skill)
        if kind is None:
            return Reply(
                f"I don't know a skill called `{name}` yet. Built in: "
                f"{', '.join(BUILTIN)}. Or teach one: `/skill teach {name}` with an example.",
                ok=False,
            )
        people = await live_people(tenant, self.ledger)
        materials: list[Material] = []
        channels = set(team_channels(team)) or None
        if kind is not TAUGHT:
            materials = await read_people(self.observations, people, channels=channels)
        examples = await self._examples(tenant, skill, {p.user_id for p in people})
        learned = kind.learn(materials + examples)
        if learned is None:
            return Reply(self._not_enough_to_learn(name, kind, materials, examples), ok=False)
        skill = skill or await store.ensure_skill(
            tenant,
            name,
            kind.name,
            by,
            kind.description
            if kind is not TAUGHT
            else f"Fills the team's {name} template from your own messages or pasted text.",
            team,
        )
        if skill.owner_user_id is None and by:
            skill.owner_user_id = by
            await skill.save(update_fields=["owner_user_id"])
        previous = await store.latest(skill)
        live_now = {p.user_id for p in people}
        before = await opened(previous, self.vault) if previous else {}
        corrections = [  # a withdrawn person's corrections stay out of what is learned now
            c for c in before.get("corrections", []) if not c.get("skipped") and c["by"] in live_now
        ]
        artifact = self._artifact(skill, kind, learned, channels)
        artifact = replay(artifact, corrections)
        note = await self._distill(tenant, skill, kind, artifact, learned, materials + examples)
        provenance = {**learned.provenance, "examples": [e.id for e in examples]}
        contributors = dict(learned.contributors)
        for c in corrections:
            contributors.setdefault(c["by"], 0)
        row = await store.add_version(skill, artifact, provenance, contributors, by, self.vault)
        log.info(
            "skill.learned",
            skill=name,
            version=row.number,
            inputs=len(learned.provenance.get("inputs", [])),
        )
        summary = "\n".join(f"• {line}" for line in kind.summary(artifact["template"]))
        people_count = len([c for c, n in contributors.items() if n])
        names = await channel_names(tenant)
        where = ", ".join(f"#{names.get(c, c)}" for c in team_channels(team))
        return Reply(
            f"Learned *{name}* v{row.number} (draft)"
            + (f" for {where}" if where else "")
            + f" from {len(learned.provenance['inputs'])} "
            f"messages of {people_count} people:\n{summary}\n"
            f"`/skill show {name}` shows it · `/skill publish {name}` publishes it."
            + (f"\n{note}" if note else ""),
            version=row,
        )

    def _kind(self, name: str, skill: Skill | None) -> SkillKind | None:
        if skill is not None:
            return kind_for(skill.kind)
        return BUILTIN.get(name)

    def _not_enough_to_learn(
        self, name: str, kind: SkillKind, materials: list[Material], examples: list[Material]
    ) -> str:
        authors_seen = len({m.author for m in materials + examples})
        need = {
            "weekly-report": "recurring structured posts (the same headed sections) in at least "
            "two different weeks",
            "code-review": "review comments that make the same point at least twice",
            "meeting-memo": "at least two sets of notes from the same kind of meeting",
        }.get(kind.name, "at least one example with two or more headed sections of bullets")
        return (
            f"Not enough material to learn `{name}`: I need {need}, and found none among "
            f"{len(materials) + len(examples)} consented messages from {authors_seen} people. "
            f"Mark examples with `/skill teach {name}`, or try again after more posts."
        )

    def _artifact(
        self, skill: Skill, kind: SkillKind, learned: Learned, channels: set[str] | None
    ) -> dict:
        return {
            "format": FORMAT,
            "name": skill.name,
            "kind": kind.name,
            "description": skill.description or kind.description,
            "template": learned.template,
            "body": offline_body(
                skill.name, kind.name, learned.template, skill.description or kind.description
            ),
            "body_source": "offline",
            "channels": sorted(channels) if channels else [],
            "learned_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "corrections": [],
        }

    async def _distill(
        self,
        tenant: Tenant,
        skill: Skill,
        kind: SkillKind,
        artifact: dict,
        learned: Learned,
        materials: list[Material],
    ) -> str:
        """Let the model write the SKILL.md body, from model-consenting people's words only."""
        if not self.model.enabled:
            return ""
        model_live = await live_user_ids(tenant, self.ledger, learned.contributors, Purpose.MODEL)
        observe_live = await live_user_ids(tenant, self.ledger, model_live)
        allowed = model_live & observe_live
        if not allowed:
            return (
                "(The model was not used: none of the contributors agreed to the model provider.)"
            )
        view = patterns_only_of(visible_template(artifact["template"], allowed), allowed)
        inputs = set(learned.provenance.get("inputs", []))
        examples = [m.text for m in materials if m.id in inputs and m.author in allowed]
        body = await llm.distill_body(self.model, skill.name, kind.summary(view), examples)
        if body is None:
            return llm.FALLBACK_NOTE
        artifact["body"] = body
        artifact["body_source"] = "model"
        artifact["body_authors"] = sorted(allowed)
        return ""

    async def _examples(
        self, tenant: Tenant, skill: Skill | None, live: set[str], exclude: uuid.UUID | None = None
    ) -> list[Material]:
        """Taught examples of this skill from people who consent now, decrypted."""
        if skill is None:
            return []
        rows = await SkillExample.filter(skill=skill).prefetch_related("person").order_by("id")
        found = []
        for row in rows:
            person = row.person
            if person.user_id not in live or person.id == exclude:
                continue
            key = self.vault.unwrap(person.wrapped_key, key_ref(person.tenant_id, person.id))
            text = self.vault.decrypt(
                key, row.ciphertext, example_aad(tenant.id, person.id, skill.id)
            )
            found.append(
                Material(f"example:{row.id}", person.user_id, text, row.created_at, "example")
            )
        return found

    async def examples_of(self, person: Person) -> list[tuple[str, datetime, str]]:
        """Every example this person taught, decrypted for them alone (mydata)."""
        rows = await SkillExample.filter(person=person).prefetch_related("skill").order_by("id")
        key = self.vault.unwrap(person.wrapped_key, key_ref(person.tenant_id, person.id))
        return [
            (
                row.skill.name,
                row.created_at,
                self.vault.decrypt(
                    key, row.ciphertext, example_aad(person.tenant_id, person.id, row.skill_id)
                ),
            )
            for row in rows
        ]

    # -- teaching and correcting --------------------------------------------------------------

    async def teach(
        self,
        tenant: Tenant,
        name: str,
        by: str,
        text: str,
        thread_id: str | None = None,
        *,
        team: str = "",
        channel: str | None = None,
    ) -> Reply:
        """Keep `text` (redacted, under the teacher's own key) as an example for the team's
        `name`; with no text, inside a thread: that thread's kept messages (of that channel
        only), each under its author."""
        if not valid_name(name):
            return Reply(NAME_RULE, ok=False)
        if not await self.ledger.live_grant(tenant, by):
            return Reply(
                "I keep examples only from people who agreed to take part: `/skill optin` first, "
                "then teach again.",
                ok=False,
            )
        thread: list[Material] = []
        if not text.strip() and thread_id:
            thread = await self._thread(tenant, thread_id, channel)
        if not text.strip() and not thread:
            return Reply(
                f"Paste the example after the command: `/skill teach {name}` followed by the text "
                "on the next lines (headed sections of bullets work best), or use it inside a "
                "thread whose messages I was allowed to keep.",
                ok=False,
            )
        skill = await self._skill_to_teach(tenant, name, by, team)
        if thread:
            # Each message stays under its author's key, so their erasure removes it too.
            for material in thread:
                author = await Person.get(tenant=tenant, user_id=material.author)
                await self._keep_example(skill, author, material.text, material.message_id)
        else:
            await self._keep_example(skill, await Person.get(tenant=tenant, user_id=by), text)
        count = await SkillExample.filter(skill=skill).count()
        kept = f"{len(thread)} messages of this thread" if thread else "your example"
        return Reply(
            f"Kept {kept} for *{name}* ({count} example(s) so far). "
            f"`/skill learn {name}` builds a draft from them."
        )

    async def _thread(self, tenant: Tenant, thread_id: str, channel: str | None) -> list[Material]:
        """The consented messages of one thread, in the channel it is in."""
        people = await live_people(tenant, self.ledger)
        channels = {channel} if channel else None
        return [
            m
            for m in await read_people(self.observations, people, channels=channels)
            if m.thread_id == thread_id
        ]

    async def _skill_to_teach(self, tenant: Tenant, name: str, by: str, team: str) -> Skill:
        skill = await store.find_skill(tenant, name, team)
        if skill is None:
            kind = BUILTIN.get(name, TAUGHT)
            description = (
                kind.description
                if kind is not TAUGHT
                else f"Fills the team's {name} template from your own messages or pasted text."
            )
            skill = await store.ensure_skill(tenant, name, kind.name, by, description, team)
        return skill

    async def _keep_example(
        self, skill: Skill, person: Person, text: str, source_message_id: str | None = None
    ) -> None:
        key = self.vault.unwrap(person.wrapped_key, key_ref(person.tenant_id, person.id))
        aad = example_aad(person.tenant_id, person.id, skill.id)
        await SkillExample.create(
            skill=skill,
            person=person,
            ciphertext=self.vault.encrypt(key, redact(text), aad),
            source_message_id=source_message_id,
        )

    async def correct(
        self, tenant: Tenant, name: str, by: str, text: str, *, team: str = ""
    ) -> Reply:
        skill = await store.find_skill(tenant, name, team)
        row = await store.latest(skill) if skill else None
        if skill is None or row is None or not row.artifact:
            return Reply(
                f"There is no version of `{name}` to correct yet: `/skill learn {name}`.", ok=False
            )
        current = await opened(row, self.vault)
        if not await self.ledger.live_grant(tenant, by):
            return Reply(
                "Corrections become part of the skill and name you as a contributor: "
                "`/skill optin` first, then correct again.",
                ok=False,
            )
        try:
            artifact = apply(current, redact(text), by)
        except CorrectionError as exc:
            return Reply(str(exc), ok=False)
        kind = kind_for(artifact.get("kind", ""))
        artifact["body"] = offline_body(
            name, kind.name, artifact["template"], artifact.get("description", "")
        )
        artifact["body_source"] = "offline"
        contributors = await self._contributions(row)
        contributors.setdefault(by, 0)
        new = await store.add_version(skill, artifact, row.provenance, contributors, by, self.vault)
        return Reply(
            f"Made *{name}* v{new.number} (draft) with your correction. "
            f"`/skill show {name}` shows it · `/skill publish {name}` publishes it.",
            version=new,
        )

    async def _contributions(self, row: SkillVersion) -> dict[str, int]:
        from bot.storage.models import SkillContribution  # noqa: PLC0415 - avoid a wide import

        rows = await SkillContribution.filter(version=row).prefetch_related("person")
        return {c.person.user_id: c.observations for c in rows}

    # -- running -------------------------------------------------------------------------------

    async def run(
        self,
        tenant: Tenant,
        name: str,
        requester: str,
        *,
        input_text: str = "",
        week: str | None = None,
        thread_id: str | None = None,
        now: datetime | None = None,
        team: str = "",
        channel: str | None = None,
    ) -> Reply | None:
        """Run the team's skill for one person (a built-in one is learned from the team's
        channels first); None when the team has no skill of that name. `channel` is where
        it was asked: a thread's material comes from that thread in that channel only."""
        now = now or datetime.now(UTC)
        skill = await store.find_skill(tenant, name, team)
        if skill is None and name not in BUILTIN:
            return None
        row = await store.current(skill) if skill else None
        if row is None:
            learned = await self.learn(tenant, name, requester, team)
            if not learned.ok or learned.version is None:
                return learned
            row = learned.version
            skill = await store.find_skill(tenant, name, team)
        assert skill is not None
        artifact = await opened(row, self.vault)
        kind = kind_for(artifact.get("kind", skill.kind))
        template = artifact.get("template", {})
        live = await visible_user_ids(tenant, self.ledger, authors(template))
        if await self.ledger.live_grant(tenant, requester):
            live.add(requester)
        else:
            live.discard(requester)
        if week:
            period = parse_iso_week(week)
            if period is None:
                return Reply(
                    f"`{week}` is no ISO week: write it like {iso_week_label(now)}.", ok=False
                )
        else:
            period = week_bounds(now)
        label = iso_week_label(period[0])
        materials: list[Material] = []
        if kind.input == "week":
            if requester not in live:
                return Reply(
                    "I can only write this from the messages you let me keep, and you haven't "
                    "agreed (or withdrew). `/skill optin` lets me learn from your messages in "
                    "observed channels.",
                    ok=False,
                    personal=True,
                )
            person = await Person.get_or_none(tenant=tenant, user_id=requester)
            if person is not None:
                channels = set(team_channels(skill.team)) or None  # what they did in the team
                materials = await read_person(self.observations, person, *period, channels)
        elif thread_id and not input_text.strip():
            materials = await self._thread(tenant, thread_id, channel)
        request = RunRequest(
            requester=requester,
            live=live,
            now=now,
            input_text=input_text,
            materials=materials,
            period=period,
            period_label=label,
            examples=await self._learned_from(tenant, row, live),
            people=frozenset(
                str(u) for u in await Person.filter(tenant=tenant).values_list("user_id", flat=True)
            ),
        )
        result = kind.run(template, request)
        await store.record_run(row)
        text, answer = result.text, None
        if result.ok:
            text, answer = await self._model_report(tenant, kind.name, artifact, request, text)
        shown = sorted(a for a in await self._contributor_ids(row) if a in live)
        footer = (
            f"\n— {name} v{row.number} ({row.status}); learned from "
            f"{', '.join(shown) or 'nobody who still takes part'}"
        )
        return Reply(
            text + footer,
            ok=result.ok,
            personal=kind.input == "week",
            version=row,
            data={**result.data, "model": answer} if answer else result.data,
        )

    async def _learned_from(
        self, tenant: Tenant, row: SkillVersion, live: set[str]
    ) -> list[Material]:
        """The version's source posts, read again through consent: only live people's."""
        ids = set(row.provenance.get("inputs", []))
        if not ids:
            return []
        people = [p for p in await live_people(tenant, self.ledger) if p.user_id in live]
        return await read_people(self.observations, people, only_ids=ids)

    async def _contributor_ids(self, row: SkillVersion) -> list[str]:
        return await store.contributor_ids(row)

    async def _model_report(
        self, tenant: Tenant, kind: str, artifact: dict, request: RunRequest, offline: str
    ) -> tuple[str, dict | None]:
        """The model's validated version when the requester (and everyone whose words would
        be sent) agreed to the model provider; else the offline text, noted when tried."""
        done = await run_with_model(
            self.model, self.ledger, tenant, kind, artifact, request, offline
        )
        return done.text, done.data
