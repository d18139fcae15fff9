"""The LLM engine against a local OpenAI-compatible fake that records what it was sent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.settings import Settings
from skills.llm import FALLBACK_NOTE, TOKEN_BUDGET, build_prompt, estimate_tokens
from tests.conftest import ConsoleClient, make_settings
from tests.fakes.openai import FakeOpenAI
from tests.test_skill_support import dm_text, reply_text

PII_MESSAGE = (
    "Emailed the invoice totals to jane.doe@example.com and confirmed by phone +1 415 555 0100"
)
BOB_WORDS = ("Currency conversion", "rate caching", "Load test")
CAROL_WORDS = ("espresso", "wifi", "Lunch order")


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def settings(tmp_path, fake: FakeOpenAI) -> Settings:
    return make_settings(
        tmp_path / "data",
        demo=True,
        openai_base_url=fake.url,
        openai_api_key="test-key",
        openai_timeout=0.5,
    )


async def agree_to_model(console: ConsoleClient, user: str) -> None:
    replies = await console.say(user, f"dm:{user}", "/skill optin model")
    agree = next(b for r in replies for b in r["buttons"] if b["label"] == "Agree")
    await console.click(user, agree)


async def test_without_model_consent_nothing_is_sent(
    console: ConsoleClient, fake: FakeOpenAI
) -> None:
    report = await dm_text(console, "alice", "/skill weekly-report")
    assert "*Done*" in report and fake.requests == []


async def test_with_model_consent_the_model_writes_the_report(
    console: ConsoleClient, fake: FakeOpenAI
) -> None:
    await agree_to_model(console, "alice")
    report = await dm_text(console, "alice", "/skill weekly-report")
    assert report.startswith("MODEL-WRITTEN REPORT")
    assert "Sources: [1] #team" in report
    assert fake.requests[-1]["model"] == "gpt-4o-mini"
    assert fake.headers[-1]["Authorization"] == "Bearer test-key"


async def test_the_model_gets_no_pii_and_no_one_elses_words(
    console: ConsoleClient, fake: FakeOpenAI
) -> None:
    await agree_to_model(console, "alice")
    await console.say("alice", "team", PII_MESSAGE)
    await dm_text(console, "alice", "/skill weekly-report")
    await dm_text(console, "admin", "/skill learn weekly-report")  # distils a SKILL.md body
    assert len(fake.requests) == 2
    sent = fake.sent_text()
    assert "Emailed the invoice totals" in sent  # alice's own work did go
    for leaked in ("jane.doe@example.com", "415 555 0100", *BOB_WORDS, *CAROL_WORDS):
        assert leaked not in sent


async def test_learning_sends_only_model_consenting_contributors_examples(
    console: ConsoleClient, fake: FakeOpenAI
) -> None:
    await agree_to_model(console, "dave")
    text = await dm_text(console, "admin", "/skill learn weekly-report")
    assert "v2 (draft)" in text
    sent = fake.sent_text()
    assert "Runbook for the payment queue" in sent
    for leaked in (*BOB_WORDS, "Waiting on legal", *CAROL_WORDS):
        assert leaked not in sent


@pytest.mark.parametrize("mode", ["429", "500", "slow"])
async def test_model_failures_fall_back_to_the_offline_report(
    console: ConsoleClient, fake: FakeOpenAI, mode: str
) -> None:
    await agree_to_model(console, "alice")
    fake.mode, fake.slow_seconds = mode, 2.0
    report = await dm_text(console, "alice", "/skill weekly-report")
    assert report.startswith("Weekly report ") and "*Done*" in report
    assert FALLBACK_NOTE in report


def test_prompts_stay_within_the_token_budget_whatever_the_corpus_size() -> None:
    corpus = [
        f"message {i}: " + "shipped the export and fixed the totals " * 40 for i in range(5000)
    ]
    prompt = build_prompt("Write the body.", "What was learned: sections", corpus)
    assert estimate_tokens(prompt) <= TOKEN_BUDGET + 50
    assert "message 0:" in prompt and "message 4" in prompt  # sampled across the corpus


def test_prompts_are_redacted_again() -> None:
    prompt = build_prompt(
        "Write it.",
        "call 13812345678 or mail a.b@example.org",
        ["token sk-abcdefghijklmnopqrstuvwxyz123456"],
    )
    for secret in ("13812345678", "a.b@example.org", "sk-abcdefghijklmnopqrstuvwxyz123456"):
        assert secret not in prompt


async def test_code_review_never_calls_the_model(console: ConsoleClient, fake: FakeOpenAI) -> None:
    await agree_to_model(console, "alice")
    await reply_text(console, "alice", "team", "/skill code-review\nprint(1)")
    assert fake.requests == []
