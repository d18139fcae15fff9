"""Skills belong to a team: two teams in one workspace, each with its own code-review.

#checkout (ana, ben) reviews money code: Decimal, never float. #payments (cy, dee) reviews
logging: no print(). eve writes in both. A skill learns only from its team's channels,
runs only for its team, and is managed by whoever first learned it there (or an admin).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

import pytest

from adapters.console.normalize import PostedMessage, message_event
from bot.app import Application
from bot.storage.models import Skill, SkillExample, SkillSchedule
from skills.scheduler import synthetic_command
from tests.conftest import ConsoleClient
from tests.test_skill_support import FLOAT_AND_PRINT, dm_text, reply_text
from tests.web_helpers import admin_link, browser_session, redeem

CHECKOUT = [
    (
        "ana",
        "Review on PR #11: please use Decimal for money, not float — float rounding breaks totals.",
    ),
    (
        "ben",
        "Review on PR #12: please use Decimal for money, not float — float rounding breaks totals.",
    ),
    (
        "ana",
        "Review on PR #13: please use Decimal for money, not float — float rounding breaks totals.",
    ),
    (
        "eve",
        "Review on PR #14: please use Decimal for money, not float — float rounding breaks totals.",
    ),
]
PAYMENTS = [
    ("cy", "Review on PR #21: no print() in production code, use the logger."),
    ("dee", "Review on PR #22: no print() in production code, use the logger."),
    ("cy", "Review on PR #23: no print() in production code, use the logger."),
    ("eve", "Review on PR #24: no print() in production code, use the logger."),
]
REVIEW = "/skill code-review\n" + FLOAT_AND_PRINT


@pytest.fixture
async def teams(console: ConsoleClient) -> ConsoleClient:
    for channel in ("checkout", "payments"):
        await console.say("admin", channel, f"/skill admin observe #{channel}")
    for person in ("ana", "ben", "cy", "dee", "eve"):
        await console.opt_in(person)
    for channel, posts in (("checkout", CHECKOUT), ("payments", PAYMENTS)):
        for author, text in posts:
            await console.say(author, channel, text)
    return console


def _decimal(text: str) -> bool:
    return "Decimal for money" in text


def _logger(text: str) -> bool:
    return "use the logger" in text


def _footer(text: str) -> str:
    return text.rsplit("learned from", 1)[1]


async def test_a_channels_code_review_uses_only_its_teams_rules_and_people(
    teams: ConsoleClient,
) -> None:
    checkout = await reply_text(teams, "ana", "checkout", REVIEW)
    assert _decimal(checkout) and not _logger(checkout)
    assert "ana" in _footer(checkout) and "ben" in _footer(checkout)
    assert "cy" not in _footer(checkout) and "dee" not in _footer(checkout)

    payments = await reply_text(teams, "cy", "payments", REVIEW)
    assert _logger(payments) and not _decimal(payments)
    assert "cy" in _footer(payments) and "dee" in _footer(payments)
    assert "ana" not in _footer(payments) and "ben" not in _footer(payments)

    skills = {s.team: s for s in await Skill.filter(name="code-review")}
    assert set(skills) == {"checkout", "payments"}  # one per team, each learned where asked


async def test_in_a_dm_the_requesters_own_team_skill_runs(teams: ConsoleClient) -> None:
    first = await dm_text(teams, "ben", REVIEW)  # learned from #checkout alone, on first use
    assert _decimal(first) and not _logger(first)
    assert "cy" not in _footer(first) and "dee" not in _footer(first)
    await reply_text(teams, "dee", "payments", REVIEW)
    again = await dm_text(teams, "ana", REVIEW)
    assert _decimal(again) and not _logger(again)


async def test_a_person_in_both_teams_is_asked_which_and_a_channel_picks(
    teams: ConsoleClient,
) -> None:
    await reply_text(teams, "ana", "checkout", REVIEW)
    await reply_text(teams, "cy", "payments", REVIEW)
    asked = await dm_text(teams, "eve", REVIEW)
    assert "Several teams have a *code-review*" in asked
    assert "#checkout" in asked and "#payments" in asked
    assert "`/skill code-review #checkout`" in asked
    picked = await dm_text(teams, "eve", "/skill code-review #checkout\n" + FLOAT_AND_PRINT)
    assert _decimal(picked) and not _logger(picked)
    other = await dm_text(teams, "eve", "/skill code-review #payments\n" + FLOAT_AND_PRINT)
    assert _logger(other) and not _decimal(other)


async def test_a_person_cannot_pick_another_teams_skill(teams: ConsoleClient) -> None:
    await reply_text(teams, "cy", "payments", REVIEW)
    refused = await dm_text(teams, "ana", "/skill code-review #payments\n" + FLOAT_AND_PRINT)
    assert "#payments is not one of your channels" in refused
    assert not _logger(refused)
    unknown = await dm_text(teams, "ana", "/skill learn code-review #nowhere")
    assert "I don't know #nowhere" in unknown


async def test_the_owner_of_one_teams_skill_cannot_publish_the_others(
    teams: ConsoleClient,
) -> None:
    learned = await reply_text(teams, "ana", "checkout", "/skill learn code-review")
    assert "Learned *code-review* v1 (draft) for #checkout" in learned
    await reply_text(teams, "cy", "payments", "/skill learn code-review")
    owners = {s.team: s.owner_user_id for s in await Skill.filter(name="code-review")}
    assert owners == {"checkout": "ana", "payments": "cy"}

    refused = await reply_text(teams, "ana", "payments", "/skill publish code-review yes")
    assert "Only the owner of *code-review* or an admin" in refused
    assert "#payments" in refused
    mine = await reply_text(teams, "ana", "checkout", "/skill publish code-review yes")
    assert "Published *code-review* v1" in mine

    # A publish button of #payments' skill does not work for ana either.
    preview = await teams.say("cy", "dm:cy", "/skill publish code-review")
    button = next(b for r in preview for b in r["buttons"] if b["label"] == "Publish v1")
    assert json.loads(button["value"])["t"] == "payments"
    clicked = await teams.click("ana", button)
    assert "Only the owner of *code-review* or an admin" in clicked[0]["text"]
    done = await teams.click("cy", button)
    assert "Published *code-review* v1" in done[0]["text"]


async def test_list_and_show_follow_the_team(teams: ConsoleClient) -> None:
    await reply_text(teams, "ana", "checkout", "/skill learn code-review")
    await reply_text(teams, "cy", "payments", "/skill learn code-review")
    listed = await reply_text(teams, "ana", "checkout", "/skill list")
    assert "`code-review` (code-review) for #checkout" in listed
    assert "#payments" not in listed
    shown = await reply_text(teams, "dee", "payments", "/skill show code-review")
    assert "for #payments, owner cy" in shown and "ana" not in shown
    both = await dm_text(teams, "eve", "/skill list")
    assert "for #checkout" in both and "for #payments" in both


async def test_learning_for_named_channels_makes_one_team_skill(teams: ConsoleClient) -> None:
    learned = await dm_text(teams, "eve", "/skill learn code-review #checkout #payments")
    assert "Learned *code-review* v1 (draft) for #checkout, #payments" in learned
    skill = await Skill.get(name="code-review")
    assert skill.team == "checkout,payments" and skill.owner_user_id == "eve"
    overlap = await reply_text(teams, "ana", "checkout", "/skill learn code-review #checkout")
    assert "Learned *code-review* v2" in overlap  # #checkout is in that team: its skill
    assert await Skill.filter(name="code-review").count() == 1


async def test_a_threads_examples_come_from_that_channels_thread_only(
    app: Application, teams: ConsoleClient
) -> None:
    def in_thread(user: str, channel: str, text: str, message_id: str):
        event = message_event(PostedMessage(user, channel, text), uuid.uuid4().hex, message_id)
        return replace(event, conversation=replace(event.conversation, thread_id="t-1"))

    assert app.bus is not None
    for user, channel, text, message_id in [
        ("ana", "checkout", "Release digest\n*Shipped*\n- Invoice search", "t-a"),
        ("cy", "payments", "*Risks*\n- payments-thread-words", "t-c"),  # same thread id
    ]:
        await (await app.bus.publish(in_thread(user, channel, text, message_id)))
    teach = in_thread("ana", "checkout", "/skill teach release-digest", "t-cmd")
    await (await app.bus.publish(teach))
    examples = await SkillExample.all().prefetch_related("person", "skill")
    assert [e.person.user_id for e in examples] == ["ana"]
    assert examples[0].skill.team == "checkout"


async def test_a_schedule_made_in_a_channel_runs_that_teams_skill(
    app: Application, teams: ConsoleClient
) -> None:
    text = await reply_text(teams, "eve", "payments", "/skill schedule weekly-report fri 17:00")
    assert "Scheduled: I'll DM you *weekly-report* for #payments every fri" in text
    row = await SkillSchedule.get(user_id="eve").prefetch_related("tenant")
    assert row.channel == "payments"
    event = synthetic_command(row, row.tenant, row.created_at)
    assert event.text == "/skill weekly-report #payments"
    assert event.command is not None and event.command.args == ("#payments",)


async def test_the_admin_pages_show_each_teams_skill(teams: ConsoleClient) -> None:
    await reply_text(teams, "ana", "checkout", "/skill learn code-review")
    await reply_text(teams, "cy", "payments", "/skill learn code-review")

    async with browser_session() as admin:
        assert (await redeem(admin, await admin_link(teams)))[0] == 303

        async def page(path: str) -> str:
            async with admin.get(teams.base + path) as response:
                assert response.status == 200, path
                return await response.text()

        both = await page("/admin/skills/code-review")
        assert "one per team" in both and "#checkout" in both and "#payments" in both
        checkout = await page("/admin/skills/code-review?team=checkout")
        assert "for #checkout" in checkout and "Decimal" in checkout and "logger" not in checkout
        assert "cy (" not in checkout


async def test_a_channel_runs_one_skill_of_a_name(teams: ConsoleClient) -> None:
    await reply_text(teams, "ana", "checkout", "/skill learn code-review")
    both = await dm_text(teams, "eve", "/skill learn code-review #checkout #payments")
    assert "#checkout already has its own *code-review*" in both
    assert "`/skill learn code-review #checkout`" in both
    assert [s.team for s in await Skill.filter(name="code-review")] == ["checkout"]
