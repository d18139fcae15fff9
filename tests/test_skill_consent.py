"""The skills engine's consent rules: withdrawal hides at once, erasure rebuilds without."""

from __future__ import annotations

import pytest

from bot.app import Application
from bot.settings import Settings
from tests.conftest import ConsoleClient, make_settings
from tests.test_skill_support import (
    FLOAT_AND_PRINT,
    artifacts_json,
    database_bytes,
    dm_text,
    reply_text,
    rows,
)

BOB_ONLY_WORDS = ("Decimal", "Currency", "conversion", "caching")
CAROL_WORDS = ("espresso", "wifi", "Lunch", "carol-private-musing")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path / "data", demo=True)


async def test_withdrawn_contributor_vanishes_from_code_review_at_once(
    console: ConsoleClient,
) -> None:
    await reply_text(console, "bob", "team", "/skill optout")
    review = await reply_text(console, "alice", "team", "/skill code-review\n" + FLOAT_AND_PRINT)
    assert "Decimal" not in review and "bob" not in review
    assert "no print() in production code" in review  # dave's rule still applies


async def test_withdrawn_contributor_vanishes_from_show_at_once(console: ConsoleClient) -> None:
    await reply_text(console, "bob", "team", "/skill optout")
    shown = await dm_text(console, "alice", "/skill show code-review")
    assert "bob" not in shown and "Decimal" not in shown
    assert "1 who withdrew are hidden" in shown


async def test_withdrawn_person_gets_no_report_from_their_kept_messages(
    console: ConsoleClient,
) -> None:
    await reply_text(console, "alice", "team", "/skill optout")
    report = await dm_text(console, "alice", "/skill weekly-report")
    assert "haven't agreed (or withdrew)" in report
    assert "invoice" not in report


async def test_withdrawn_person_is_no_longer_named_in_a_report_footer(
    console: ConsoleClient,
) -> None:
    await reply_text(console, "bob", "team", "/skill optout")
    report = await dm_text(console, "alice", "/skill weekly-report")
    assert "learned from alice, dave" in report


async def test_carol_who_never_agreed_is_in_no_skill_version(
    app: Application, console: ConsoleClient
) -> None:
    stored = await artifacts_json()
    assert "carol" not in stored
    for word in CAROL_WORDS:
        assert word not in stored
        assert word.encode() not in database_bytes(app)


async def test_after_erasure_no_skill_version_holds_the_persons_words(
    app: Application, console: ConsoleClient
) -> None:
    assert "Decimal" in await dm_text(console, "alice", "/skill show code-review")
    await dm_text(console, "bob", "/skill forget")
    stored = await artifacts_json()
    for word in BOB_ONLY_WORDS:
        assert word not in stored
    assert '"bob"' not in stored
    everything = database_bytes(app)
    for word in ("Decimal for money", "Currency conversion", "rate caching"):
        assert word.encode() not in everything


async def test_a_rule_keeps_its_authors_words_sealed_under_their_key(
    app: Application, console: ConsoleClient
) -> None:
    shown = await dm_text(console, "alice", "/skill show code-review")
    assert "Decimal for money" in shown  # readable to the team while bob takes part
    assert "Decimal for money" not in await artifacts_json()
    assert b"Decimal for money" not in database_bytes(app)


async def test_after_erasure_versions_are_rebuilt_from_the_others(
    console: ConsoleClient,
) -> None:
    await dm_text(console, "bob", "/skill forget")
    review = await reply_text(console, "alice", "team", "/skill code-review\n" + FLOAT_AND_PRINT)
    assert "no print() in production code" in review and "Decimal" not in review
    contributors = await rows(
        "SELECT p.user_id FROM skill_contributions c JOIN people p ON p.id = c.person_id "
        "JOIN skill_versions v ON v.id = c.version_id JOIN skills s ON s.id = v.skill_id "
        "WHERE s.name = ?",
        "code-review",
    )
    assert [c["user_id"] for c in contributors] == ["dave"]


async def test_erasure_receipt_counts_the_rebuilt_versions(console: ConsoleClient) -> None:
    receipt = await dm_text(console, "bob", "/skill forget")
    assert "skill versions rebuilt or retired without you: 3" in receipt


async def test_a_version_with_nothing_left_is_retired(console: ConsoleClient) -> None:
    await dm_text(
        console,
        "alice",
        "/skill teach standup-digest\nStandup digest\n"
        "*Shipped*\n- zanzibar-feature went out\n*Risks*\n- quokka-dependency is late",
    )
    learned = await dm_text(console, "alice", "/skill learn standup-digest")
    assert "v1 (draft)" in learned
    await dm_text(console, "alice", "/skill forget")
    found = await rows(
        "SELECT v.status, v.artifact FROM skill_versions v JOIN skills s "
        "ON s.id = v.skill_id WHERE s.name = ?",
        "standup-digest",
    )
    assert [r["status"] for r in found] == ["retired"]
    assert "zanzibar" not in str(found[0]["artifact"])
    assert await rows("SELECT id FROM skill_examples") == []
