"""People's words inside a skill artifact, sealed at rest under the writer's own data key.

A rule's quotes and a correction's text are what one person wrote. In the database they are
AES-GCM ciphertext under that person's key, like their observations: an erased person's
words are unreadable the moment their key is gone, and a quote whose source message was
deleted (by the platform, by retention or by erasure) goes with it. Learners, runs and pages
work on the `opened` artifact; only `store.add_version`/`store.save_artifact` seal.

The offline SKILL.md body quotes the rules, so it is not kept: it is written again from the
opened template. Templates and rules themselves (headings, meeting types, code patterns)
are the team's, not a person's, and stay readable.
"""

from __future__ import annotations

import base64
import copy
import uuid
from typing import Any

from bot.people import key_ref
from bot.storage.models import Observation, Person, SkillExample, SkillVersion
from bot.storage.vault import Vault, VaultError
from skills.body import offline_body
from skills.material import split_sources

SEALED = "sealed"  # the key holding base64 ciphertext in place of a text


def _aad(tenant_id: int, person_id: uuid.UUID) -> str:
    return f"skill-words|{tenant_id}|{person_id}"


class _Keys:
    """Data keys of one tenant's people, looked up once per artifact."""

    def __init__(self, vault: Vault, tenant_id: int) -> None:
        self.vault, self.tenant_id = vault, tenant_id
        self._people: dict[str, Person | None] = {}

    async def person(self, user_id: str) -> Person | None:
        if user_id not in self._people:
            self._people[user_id] = await Person.get_or_none(
                tenant_id=self.tenant_id, user_id=user_id
            )
        return self._people[user_id]

    async def seal(self, user_id: str, text: str) -> str | None:
        person = await self.person(user_id)
        if person is None:
            return None  # nobody to seal for: the words are not kept
        key = self.vault.unwrap(person.wrapped_key, key_ref(self.tenant_id, person.id))
        blob = self.vault.encrypt(key, text, _aad(self.tenant_id, person.id))
        return base64.b64encode(blob).decode()

    async def open(self, user_id: str, sealed: str) -> str | None:
        person = await self.person(user_id)
        if person is None:
            return None
        try:
            key = self.vault.unwrap(person.wrapped_key, key_ref(self.tenant_id, person.id))
            return self.vault.decrypt(
                key, base64.b64decode(sealed), _aad(self.tenant_id, person.id)
            )
        except (VaultError, ValueError):  # no longer this person's words
            return None


async def seal(artifact: dict, tenant_id: int, vault: Vault) -> dict:
    """The artifact as stored: quotes and corrections as ciphertext, no quoting body."""
    if not artifact:
        return artifact
    keys = _Keys(vault, tenant_id)
    stored = copy.deepcopy(artifact)
    for rule in stored.get("template", {}).get("rules", []):
        if not rule.get("authors"):
            continue  # imported or the team's own wording: nobody's words to seal
        quotes: list[dict] = []
        for q in rule.get("quotes", []):
            sealed = await keys.seal(q["author"], q["text"]) if "text" in q else None
            if sealed is None:
                continue
            if rule.get("text") == q["text"]:
                rule["text_quote"] = len(quotes)
            quotes.append({k: v for k, v in q.items() if k != "text"} | {SEALED: sealed})
        rule["quotes"] = quotes
        rule.pop("text", None)
    corrections = []
    for c in stored.get("corrections", []):
        if "text" in c:
            sealed = await keys.seal(c["by"], c["text"])
            if sealed is None:
                continue
            c = {k: v for k, v in c.items() if k != "text"} | {SEALED: sealed}
        corrections.append(c)
    if "corrections" in stored:
        stored["corrections"] = corrections
    if stored.get("body_source", "offline") == "offline":
        stored["body"] = ""
    return stored


async def opened(row: SkillVersion, vault: Vault) -> dict:
    """The version's artifact with the words of people whose key and source still exist."""
    stored = row.artifact or {}
    if not stored:
        return {}
    tenant_id = await _tenant_of(row)
    keys = _Keys(vault, tenant_id)
    artifact = copy.deepcopy(stored)
    gone = await _missing_sources(tenant_id, row.skill_id, artifact)
    for rule in artifact.get("template", {}).get("rules", []):
        if not rule.get("authors"):
            continue
        at = rule.pop("text_quote", None)
        quotes: list[dict] = []
        chosen: dict | None = None
        for n, q in enumerate(rule.get("quotes", [])):
            unusable = str(q.get("source")) in gone or SEALED not in q
            text = None if unusable else await keys.open(q["author"], q[SEALED])
            if text:
                quotes.append({k: v for k, v in q.items() if k != SEALED} | {"text": text})
                chosen = quotes[-1] if n == at else chosen
        rule["text"] = (chosen or (quotes[0] if quotes else {})).get("text", "")
        rule["quotes"] = quotes
        rule["authors"] = sorted({q["author"] for q in quotes})
    rules = artifact.get("template", {}).get("rules")
    if rules is not None:  # a rule nobody's words are left for is no rule any more
        artifact["template"]["rules"] = [r for r in rules if r.get("text")]
    corrections = []
    for c in artifact.get("corrections", []):
        if SEALED in c:
            text = await keys.open(c["by"], c[SEALED])
            if text is None:
                continue
            c = {k: v for k, v in c.items() if k != SEALED} | {"text": text}
        corrections.append(c)
    if "corrections" in artifact:
        artifact["corrections"] = corrections
    if not artifact.get("body"):
        artifact["body"] = offline_body(
            artifact.get("name", ""),
            artifact.get("kind", ""),
            artifact.get("template", {}),
            artifact.get("description", ""),
        )
    return artifact


async def _tenant_of(row: SkillVersion) -> int:
    from bot.storage.models import Skill  # noqa: PLC0415

    skill = await Skill.get(id=row.skill_id)
    return int(skill.tenant_id)


async def _missing_sources(tenant_id: int, skill_id: int, artifact: dict) -> set[str]:
    """Source ids of quotes whose message or taught example is no longer stored."""
    sources = {
        str(q.get("source"))
        for rule in artifact.get("template", {}).get("rules", [])
        for q in rule.get("quotes", [])
        if SEALED in q
    }
    observation_ids, example_ids = split_sources(sources)
    present: set[str] = set()
    if observation_ids:
        rows: list[Any] = await Observation.filter(
            tenant_id=tenant_id, id__in=observation_ids
        ).values_list("id", flat=True)
        present.update(str(i) for i in rows)
    if example_ids:
        rows = await SkillExample.filter(skill_id=skill_id, id__in=example_ids).values_list(
            "id", flat=True
        )
        present.update(f"example:{i}" for i in rows)
    checked = {str(i) for i in observation_ids} | {f"example:{i}" for i in example_ids}
    return checked - present
