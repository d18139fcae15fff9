"""Derived data follows the person: corrections, quotes, examples and provenance in skills.

Each test is one finding of the privacy audit ([privacy] 1–5, 13), reproduced through chat
the way the auditor did it, checked on the replies and on the database bytes.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.console.normalize import PostedMessage, message_event
from bot.app import Application
from bot.settings import Settings
from bot.storage.models import (
    ConsentPrompt,
    Observation,
    Skill,
    SkillExample,
    SkillVersion,
)
from skills.sealed import opened
from skills.visibility import patterns_only_of
from tests.conftest import ConsoleClient, make_settings
from tests.test_skill_support import (
    NOTES_WITH_OPEN_QUESTION,
    artifacts_json,
    database_bytes,
    dm_text,
    reply_text,
)

TEAM = "team"  # the demo's observed channel
PERSONAL = "Ask bob at bob@example.com or +1 415 555 0199, token=ghp_" + "a1B2c3D4e5" * 4


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path / "data", demo=True)


async def _tenant(app: Application):
    return await app.services.directory.tenant("console", "local")


async def test_a_correction_is_redacted_before_it_is_kept(
    app: Application, console: ConsoleClient
) -> None:
    made = await reply_text(
        console, "bob", TEAM, f"/skill correct code-review description {PERSONAL}"
    )
    assert "v2 (draft)" in made
    shown = await dm_text(console, "alice", "/skill show code-review v2")
    assert "[email]" in shown and "[phone]" in shown and "[secret]" in shown
    stored = database_bytes(app)
    for secret in (b"bob@example.com", b"415 555 0199", b"ghp_a1B2"):
        assert secret not in stored


async def test_a_withdrawn_persons_correction_is_hidden_and_not_carried_into_relearning(
    console: ConsoleClient,
) -> None:
    await reply_text(
        console, "bob", TEAM, '/skill correct code-review add rule "no-yoda-conditions please"'
    )
    assert "no-yoda-conditions" in await dm_text(console, "alice", "/skill show code-review v2")
    await reply_text(console, "bob", TEAM, "/skill optout")
    assert "no-yoda-conditions" not in await dm_text(console, "alice", "/skill show code-review v2")
    await reply_text(console, "alice", TEAM, "/skill learn code-review")
    assert "no-yoda-conditions" not in await dm_text(console, "alice", "/skill show code-review")


async def test_an_export_after_withdrawal_names_nobody_who_withdrew(
    app: Application, console: ConsoleClient, tmp_path: Path
) -> None:
    await reply_text(console, "bob", TEAM, "/skill optout")
    engine = app.services.skills.engine
    for name in ("weekly-report", "code-review", "meeting-memo"):
        folder = await engine.export(await _tenant(app), name, tmp_path / "out", team=TEAM)
        exported = "\n".join(p.read_text() for p in folder.rglob("*") if p.is_file())
        assert "bob" not in exported, name
        assert "Decimal" not in exported, name


async def test_after_forget_no_row_names_the_person(
    app: Application, console: ConsoleClient
) -> None:
    await reply_text(console, "bob", TEAM, "/skill learn weekly-report")  # bob now made a version
    await reply_text(
        console, "bob", TEAM, f"/skill correct code-review description bob-desc {PERSONAL}"
    )
    assert await SkillVersion.filter(created_by="bob").exists()
    await dm_text(console, "bob", "/skill forget")
    assert not await SkillVersion.filter(created_by="bob").exists()
    assert not await Skill.filter(owner_user_id="bob").exists()
    assert not await ConsentPrompt.filter(user_id="bob").exists()
    for row in await SkillVersion.all():
        assert "bob-desc" not in json.dumps(await opened(row, app.services.vault))
    assert b"bob-desc" not in database_bytes(app)
    assert '"bob"' not in await artifacts_json()


async def test_forget_survives_an_imported_skill_naming_another_workspaces_examples(
    app: Application, console: ConsoleClient, tmp_path: Path
) -> None:
    engine = app.services.skills.engine
    tenant = await _tenant(app)
    folder = await engine.export(tenant, "code-review", tmp_path / "out", team=TEAM)
    saved = folder / "assets" / "apprentice-skill.json"
    data = json.loads(saved.read_text())
    data["provenance"]["examples"] = ["example:999999", "example:1"]  # ids of elsewhere
    saved.write_text(json.dumps(data))
    await engine.import_folder(tenant, folder, "bob", team=TEAM)
    receipt = await dm_text(console, "bob", "/skill forget")
    assert "Erasure receipt" in receipt
    assert not await Observation.filter(person__user_id="bob").exists()


async def test_a_thread_in_an_unobserved_channel_gets_nothing_of_an_observed_thread(
    app: Application, console: ConsoleClient
) -> None:
    assert app.bus is not None

    def in_thread(user: str, channel: str, text: str) -> object:
        event = message_event(
            PostedMessage(user, channel, text), uuid.uuid4().hex, uuid.uuid4().hex
        )
        return replace(event, conversation=replace(event.conversation, thread_id="t-42"))

    await (await app.bus.publish(in_thread("alice", TEAM, NOTES_WITH_OPEN_QUESTION)))
    await (await app.bus.publish(in_thread("carol", "elsewhere", "/skill meeting-memo")))
    assert app.console is not None
    said = "\n".join(m.text for m in app.console.messages("elsewhere") or [])
    assert said  # the bot did answer there
    assert "billing v2 API" not in said and "pricing page" not in said


async def test_retention_takes_quotes_and_taught_examples_with_it(
    app: Application, console: ConsoleClient
) -> None:
    await dm_text(
        console,
        "alice",
        "/skill teach standup-digest\nStandup digest\n*Shipped*\n- x\n*Risks*\n- y",
    )
    assert "Decimal for money" in await dm_text(console, "alice", "/skill show code-review")
    old = datetime.now(UTC) - timedelta(days=app.settings.retention_days + 1)
    await Observation.filter(person__user_id="bob").update(occurred_at=old)
    await SkillExample.all().update(created_at=old)
    await app.purge_expired()
    assert "Decimal for money" not in await dm_text(console, "alice", "/skill show code-review")
    assert not await SkillExample.exists()


async def test_mydata_lists_the_words_a_person_left_in_skills(console: ConsoleClient) -> None:
    await reply_text(
        console, "bob", TEAM, '/skill correct code-review add rule "no-yoda-conditions please"'
    )
    replies = await console.say("bob", "dm:bob", "/skill mydata")
    text = replies[0]["text"]
    assert "your words in skills:" in text
    export = json.loads(replies[0]["attachment"]["content"])
    words = export["words_in_skills"]
    assert any(w["kind"] == "correction" and "no-yoda-conditions" in w["text"] for w in words)
    assert any(w["kind"] == "quote" and "Decimal" in w["text"] for w in words)


def test_a_rules_code_patterns_reach_the_model_only_when_every_author_agreed() -> None:
    rule = {
        "id": "r1",
        "text": "keep money in Decimal",
        "authors": ["dave", "erin"],
        "patterns": [{"regex": "erin-only-fragment", "what": "`erin-only-fragment`"}],
    }
    view = patterns_only_of({"rules": [rule]}, {"dave"})
    assert view["rules"][0]["patterns"] == [] and view["rules"][0]["text"] == rule["text"]
    assert patterns_only_of({"rules": [rule]}, {"dave", "erin"})["rules"][0] == rule


async def test_a_platform_delete_removes_the_copy_taught_from_a_thread(
    app: Application, console: ConsoleClient
) -> None:
    assert app.bus is not None

    def in_thread(user: str, text: str, message_id: str):
        event = message_event(PostedMessage(user, TEAM, text), uuid.uuid4().hex, message_id)
        return replace(event, conversation=replace(event.conversation, thread_id="t-9"))

    await (await app.bus.publish(in_thread("alice", "Digest\n*Shipped*\n- search", "t-a")))
    await (await app.bus.publish(in_thread("bob", "*Risks*\n- bob-thread-words", "t-b")))
    await (await app.bus.publish(in_thread("alice", "/skill teach digest", "t-cmd")))
    assert await SkillExample.filter(person__user_id="bob").count() == 1
    deletion = replace(in_thread("bob", "", "t-b"), id=uuid.uuid4().hex, deleted=True)
    await (await app.bus.publish(deletion))
    assert not await Observation.filter(message_id="t-b").exists()
    assert not await SkillExample.filter(person__user_id="bob").exists()
    assert await SkillExample.filter(person__user_id="alice").count() == 1
