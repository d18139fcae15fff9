"""Drafts, the publish diff and button, corrections, rollback, teaching by example."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

import pytest

from adapters.console.normalize import PostedMessage, message_event
from bot.app import Application
from bot.settings import Settings
from bot.storage.models import SkillExample
from tests.conftest import ConsoleClient, make_settings
from tests.test_skill_support import dm_text, reply_text

EXAMPLE = (
    "Release digest 2026-W47\n*Shipped*\n- Billing export\n- Faster search\n"
    "*Risks*\n- Vendor API is late\n*Asks*\n- Need a reviewer for the search PR"
)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path / "data", demo=True)


async def test_learn_makes_a_new_draft_version(console: ConsoleClient) -> None:
    text = await dm_text(console, "alice", "/skill learn weekly-report")
    assert "Learned *weekly-report* v2 (draft)" in text
    shown = await dm_text(console, "alice", "/skill show weekly-report")
    assert "Versions: v1 published, v2 draft" in shown


async def test_publish_shows_the_diff_and_the_button_publishes(console: ConsoleClient) -> None:
    await dm_text(console, "alice", '/skill correct weekly-report rename "Next week" to "Plans"')
    replies = await console.say("admin", "dm:admin", "/skill publish weekly-report")
    preview = replies[0]
    assert "+section Plans" in preview["text"] and "-section Next week" in preview["text"]
    button = next(b for b in preview["buttons"] if b["label"] == "Publish v2")
    done = await console.click("admin", button)
    assert "Published *weekly-report* v2" in done[0]["text"]
    report = await dm_text(console, "alice", "/skill weekly-report")
    assert "*Plans*" in report and "*Next week*" not in report


async def test_only_the_owner_or_an_admin_may_publish(console: ConsoleClient) -> None:
    await dm_text(console, "alice", "/skill learn weekly-report")
    text = await dm_text(console, "alice", "/skill publish weekly-report")
    assert "Only the owner of *weekly-report* or an admin" in text


async def test_correction_makes_a_new_draft_that_names_the_corrector(
    console: ConsoleClient,
) -> None:
    text = await dm_text(
        console,
        "dave",
        '/skill correct code-review add rule "no bare except, '
        'catch what you expect" avoid "except:"',
    )
    assert "v2 (draft)" in text
    shown = await dm_text(console, "dave", "/skill show code-review 2")
    assert "no bare except" in shown and "dave (" in shown


async def test_a_correction_that_makes_no_sense_says_what_works(console: ConsoleClient) -> None:
    text = await dm_text(console, "dave", "/skill correct code-review make it nicer")
    assert "I didn't understand that correction" in text and "rename" in text


async def test_rollback_publishes_the_earlier_version_again(console: ConsoleClient) -> None:
    await dm_text(console, "admin", "/skill learn meeting-memo")
    await dm_text(console, "admin", "/skill publish meeting-memo 2 yes")
    text = await dm_text(console, "admin", "/skill rollback meeting-memo")
    assert "v1 is published again" in text
    shown = await dm_text(console, "admin", "/skill show meeting-memo")
    assert "Versions: v1 published, v2 archived" in shown


async def test_taught_examples_become_a_template_skill(console: ConsoleClient) -> None:
    kept = await dm_text(console, "alice", "/skill teach release-digest\n" + EXAMPLE)
    assert "Kept your example" in kept
    learned = await dm_text(console, "alice", "/skill learn release-digest")
    assert "v1 (draft)" in learned
    filled = await reply_text(
        console,
        "alice",
        "team",
        "/skill release-digest\n- Shipped the new invoice search\n- waiting on legal sign-off",
    )
    assert filled.index("*Shipped*") < filled.index("*Risks*") < filled.index("*Asks*")
    assert "Shipped the new invoice search" in filled


async def test_teaching_needs_consent(console: ConsoleClient) -> None:
    text = await dm_text(console, "carol", "/skill teach release-digest\n" + EXAMPLE)
    assert "`/skill optin` first" in text


async def test_mydata_exports_the_examples_a_person_taught(console: ConsoleClient) -> None:
    await dm_text(console, "alice", "/skill teach release-digest\n" + EXAMPLE)
    replies = await console.say("alice", "dm:alice", "/skill mydata")
    assert "examples you taught: release-digest (1)" in replies[0]["text"]
    export = json.loads(replies[0]["attachment"]["content"])
    assert export["taught_examples"][0]["skill"] == "release-digest"
    assert "Shipped" in export["taught_examples"][0]["text"]


async def test_teach_in_a_thread_keeps_its_consented_messages_under_each_author(
    app: Application, console: ConsoleClient
) -> None:
    def in_thread(user: str, text: str, message_id: str):
        event = message_event(PostedMessage(user, "team", text), uuid.uuid4().hex, message_id)
        return replace(event, conversation=replace(event.conversation, thread_id="t-1"))

    for user, text, message_id in [
        ("alice", "Release digest\n*Shipped*\n- Invoice search", "t-a"),
        ("bob", "*Risks*\n- Vendor API is late", "t-b"),
        ("carol", "*Asks*\n- carol-never-kept", "t-c"),
    ]:
        await (await app.bus.publish(in_thread(user, text, message_id)))
    await (await app.bus.publish(in_thread("alice", "/skill teach release-digest", "t-cmd")))
    examples = await SkillExample.all().prefetch_related("person")
    assert sorted(e.person.user_id for e in examples) == ["alice", "bob"]
    await console.say("bob", "dm:bob", "/skill forget")  # bob's erasure takes his example
    remaining = await SkillExample.all().prefetch_related("person")
    assert [e.person.user_id for e in remaining] == ["alice"]
