"""The three built-in skills on the demo workspace, through the console like a person."""

from __future__ import annotations

import re

import pytest

from bot.settings import Settings
from tests.conftest import ConsoleClient, make_settings
from tests.test_skill_support import (
    FLOAT_AND_PRINT,
    NOTES_WITH_OPEN_QUESTION,
    dm_text,
    reply_text,
)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path / "data", demo=True)


async def test_weekly_report_uses_the_team_sections_in_the_team_order(
    console: ConsoleClient,
) -> None:
    report = await dm_text(console, "alice", "/skill weekly-report", channel="team")
    headings = re.findall(r"^\*(.+)\*$", report, re.M)
    assert headings == ["Done", "In progress", "Blockers", "Next week"]
    assert report.startswith("Weekly report ")


async def test_weekly_report_holds_only_the_requesters_own_work(console: ConsoleClient) -> None:
    report = await dm_text(console, "alice", "/skill weekly-report")
    assert "invoice csv export" in report.lower()
    for others in (
        "Currency conversion",
        "rate caching",
        "queue lag",
        "espresso",
        "wifi",
        "Reviewed PR",
        "migration plan",
    ):
        assert others not in report


async def test_weekly_report_bullets_cite_their_source_messages(console: ConsoleClient) -> None:
    report = await dm_text(console, "alice", "/skill weekly-report")
    bullets = [
        line for line in report.splitlines() if line.startswith("- ") and "(none)" not in line
    ]
    assert bullets and all(re.search(r"\[\d+(,\d+)*\]$", b) for b in bullets)
    assert "Sources: [1] #team" in report


async def test_weekly_report_says_when_there_is_too_little_material(
    console: ConsoleClient,
) -> None:
    report = await dm_text(console, "alice", "/skill weekly-report --week 2020-W01")
    assert "Not enough material" in report and "won't invent" in report
    assert "*Done*" not in report


async def test_code_review_flags_float_and_print_in_the_teams_words(
    console: ConsoleClient,
) -> None:
    review = await reply_text(console, "alice", "team", "/skill code-review\n" + FLOAT_AND_PRINT)
    assert "please use Decimal for money, not float" in review
    assert "line 2: `amount: float = order.total`" in review
    assert "no print() in production code, use the logger" in review
    assert "line 3: `print(amount)`" in review


async def test_code_review_of_clean_code_breaks_no_rule(console: ConsoleClient) -> None:
    review = await reply_text(
        console,
        "alice",
        "team",
        "/skill code-review\nfrom decimal import Decimal\n"
        "def total(items):\n    return sum(Decimal(i.price) for i in items)\n",
    )
    assert "No team rule is broken" in review


async def test_meeting_memo_lists_the_unanswered_question(console: ConsoleClient) -> None:
    memo = await reply_text(
        console, "alice", "team", "/skill meeting-memo\n" + NOTES_WITH_OPEN_QUESTION
    )
    open_part = memo.split("*Unaddressed issues*", 1)[1]
    assert "Question nobody answered: who signs off the pricing page?" in open_part
    assert "Action with no owner: write the release notes" in open_part
    assert "- bob to draft the rollout plan by Friday — bob, Friday" in memo
    assert memo.startswith("*Planning memo*")


async def test_show_lists_sections_contributors_version_and_runs(console: ConsoleClient) -> None:
    await dm_text(console, "alice", "/skill weekly-report")
    shown = await dm_text(console, "alice", "/skill show weekly-report")
    assert "v1 (published)" in shown
    assert "Contributors: alice (4 messages), bob (4 messages), dave (4 messages)" in shown
    assert "Runs: 1 of this version" in shown
    assert "section Blockers" in shown
    assert "carol" not in shown


async def test_mydata_shows_how_often_the_skills_someone_taught_were_used(
    console: ConsoleClient,
) -> None:
    await reply_text(console, "alice", "team", "/skill code-review\n" + FLOAT_AND_PRINT)
    await reply_text(console, "dave", "team", "/skill code-review\n" + FLOAT_AND_PRINT)
    mydata = await dm_text(console, "bob", "/skill mydata")
    assert "code-review v1 for #team (used 2 times)" in mydata  # the team it belongs to


async def test_unknown_skill_name_gets_the_list_of_commands(console: ConsoleClient) -> None:
    text = await reply_text(console, "alice", "team", "/skill haiku-writer")
    assert "I don't know `/skill haiku-writer`" in text and "/skill help" in text


async def test_list_names_the_three_skills(console: ConsoleClient) -> None:
    text = await dm_text(console, "alice", "/skill list")
    for name in ("weekly-report", "code-review", "meeting-memo"):
        assert f"`{name}`" in text
