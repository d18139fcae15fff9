"""The LLM engine against a local OpenAI-compatible fake that records what it was sent."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.settings import Settings
from skills.llm import FALLBACK_NOTE, INVALID_NOTE, TOKEN_BUDGET, build_prompt, estimate_tokens
from skills.model_run import MODEL_MARK
from tests.conftest import ConsoleClient, make_settings
from tests.fakes.openai import Cut, FakeOpenAI
from tests.test_skill_support import (
    FLOAT_AND_PRINT,
    NOTES_WITH_OPEN_QUESTION,
    dm_text,
    reply_text,
)

PII_MESSAGE = (
    "Emailed the invoice totals to jane.doe@example.com and confirmed by phone +1 415 555 0100"
)
BOB_WORDS = ("Currency conversion", "rate caching", "Load test")
BOB_RULES = ("Decimal for money", "error path")
CAROL_WORDS = ("espresso", "wifi", "Lunch order")
MEMO = {
    "type": "planning",
    "decisions": ["ship the billing v2 API first"],
    "actions": [
        {"owner": "bob", "task": "draft the rollout plan", "due": "Friday"},
        {"owner": None, "task": "write the release notes", "due": None},
    ],
    "unaddressed": ["Question nobody answered: who signs off the pricing page?"],
}
INVENTED_OWNER = {**MEMO, "actions": [{"owner": "zed", "task": "write the release notes"}]}
INVENTED_OWNER["actions"][0]["due"] = None


def weekly_answer(body: dict[str, Any]) -> str:
    """A valid weekly report built from what the prompt shows, as a capable model would."""
    prompt = body["messages"][-1]["content"]
    week = re.search(r'The title contains "([^"]+)"', prompt)
    order = re.search(r"in this order: (.+?)\. Each item", prompt)
    work = re.search(r"^\[(\d+)\] (Shipped the invoice CSV export to production)", prompt, re.M)
    assert week and order and work, prompt
    sections = [{"heading": h, "items": []} for h in re.findall(r'"([^"]+)"', order.group(1))]
    sections[0]["items"].append({"text": work.group(2), "sources": [int(work.group(1))]})
    return json.dumps({"title": f"Weekly report {week.group(1)}", "sections": sections})


def review_answer(body: dict[str, Any]) -> str:
    prompt = body["messages"][-1]["content"]
    rule = re.search(r"^(r\d+): no print\(\)", prompt, re.M)
    line = re.search(r"^(\d+)\| (\s*print\(amount\))$", prompt, re.M)
    assert rule and line, prompt
    finding = {"rule": rule.group(1), "line": int(line.group(1)), "code": line.group(2)}
    return json.dumps({"findings": [finding]})


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


async def memo(console: ConsoleClient, notes: str = NOTES_WITH_OPEN_QUESTION) -> str:
    return await reply_text(console, "alice", "team", "/skill meeting-memo\n" + notes)


async def test_without_model_consent_nothing_is_sent(
    console: ConsoleClient, fake: FakeOpenAI
) -> None:
    report = await dm_text(console, "alice", "/skill weekly-report")
    review = await reply_text(console, "alice", "team", "/skill code-review\n" + FLOAT_AND_PRINT)
    written = await memo(console)
    assert "*Done*" in report and "Code review" in review and "*Decisions*" in written
    assert fake.requests == []


async def test_with_model_consent_the_model_writes_the_report(
    console: ConsoleClient, fake: FakeOpenAI
) -> None:
    await agree_to_model(console, "alice")
    fake.answers = [weekly_answer]
    report = await dm_text(console, "alice", "/skill weekly-report")
    assert report.startswith("Weekly report ") and MODEL_MARK in report
    assert "- Shipped the invoice CSV export to production [1]" in report
    assert "Sources: [1] #team" in report and "*In progress*\n- (none)" in report
    assert len(fake.requests) == 1
    assert fake.requests[-1]["model"] == "gpt-4o-mini"
    assert fake.requests[-1]["response_format"]["type"] == "json_schema"
    assert fake.requests[-1]["response_format"]["json_schema"]["strict"] is True
    assert fake.headers[-1]["Authorization"] == "Bearer test-key"


async def test_an_invalid_answer_is_retried_once_with_its_problems(
    console: ConsoleClient, fake: FakeOpenAI
) -> None:
    await agree_to_model(console, "alice")
    invented = {"title": "Report", "sections": [{"heading": "Done", "items": []}]}
    fake.answers = [json.dumps(invented), weekly_answer]
    report = await dm_text(console, "alice", "/skill weekly-report")
    assert MODEL_MARK in report and len(fake.requests) == 2
    retry = fake.prompts()[1]
    assert "previous answer was rejected" in retry and "the title must contain the week" in retry


@pytest.mark.parametrize(
    "answers",
    [
        ["not json at all", '{"title": '],
        [Cut('{"title": "Weekly report'), Cut('{"title": "Weekly')],
        [json.dumps({"title": "x", "sections": []})] * 2,
    ],
    ids=["not-json", "cut-off", "wrong-shape"],
)
async def test_invalid_twice_keeps_the_offline_report_with_a_note(
    console: ConsoleClient, fake: FakeOpenAI, answers: list
) -> None:
    await agree_to_model(console, "alice")
    fake.answers = list(answers)
    report = await dm_text(console, "alice", "/skill weekly-report")
    assert report.startswith("Weekly report ") and "*Done*" in report
    assert INVALID_NOTE in report and MODEL_MARK not in report
    assert len(fake.requests) == 2


async def test_a_cut_off_answer_is_asked_for_again(
    console: ConsoleClient, fake: FakeOpenAI
) -> None:
    await agree_to_model(console, "alice")
    fake.answers = [Cut('{"title": "Weekly report'), weekly_answer]
    report = await dm_text(console, "alice", "/skill weekly-report")
    assert MODEL_MARK in report
    assert "cut off" in fake.prompts()[1]


async def test_the_model_gets_no_pii_and_no_one_elses_words(
    console: ConsoleClient, fake: FakeOpenAI
) -> None:
    await agree_to_model(console, "alice")
    await console.say("alice", "team", PII_MESSAGE)
    fake.answers = [weekly_answer]
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
    assert FALLBACK_NOTE in report and len(fake.requests) == 1


async def test_a_server_refusing_json_schema_gets_json_object_with_the_schema(
    console: ConsoleClient, fake: FakeOpenAI
) -> None:
    await agree_to_model(console, "alice")
    fake.mode = "no-json-schema"
    fake.answers = [weekly_answer]
    report = await dm_text(console, "alice", "/skill weekly-report")
    assert MODEL_MARK in report
    forms = [r["response_format"] for r in fake.requests]
    assert [f["type"] for f in forms] == ["json_schema", "json_object"]
    assert forms[1]["schema"]["required"] == ["title", "sections"]


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


async def test_the_memo_is_written_by_the_model_from_the_notes(
    console: ConsoleClient, fake: FakeOpenAI
) -> None:
    await agree_to_model(console, "alice")
    fake.answers = [json.dumps(MEMO)]
    text = await memo(console)
    assert text.startswith("*Planning memo*") and MODEL_MARK in text
    assert "- bob: draft the rollout plan — due Friday" in text
    assert "- Action with no owner: write the release notes" in text
    assert "every question was answered" not in text
    assert fake.requests[0]["response_format"]["json_schema"]["name"] == "meeting-memo"


async def test_an_invented_owner_is_rejected(console: ConsoleClient, fake: FakeOpenAI) -> None:
    await agree_to_model(console, "alice")
    fake.answers = [json.dumps(INVENTED_OWNER)] * 2
    text = await memo(console)
    assert INVALID_NOTE in text and "zed" not in text
    assert "owner 'zed' is not named in the notes" in fake.prompts()[1]


async def test_memo_notes_are_redacted_before_they_are_sent(
    console: ConsoleClient, fake: FakeOpenAI
) -> None:
    await agree_to_model(console, "alice")
    fake.answers = [json.dumps(MEMO)]
    await memo(
        console, NOTES_WITH_OPEN_QUESTION + "\nAction: mail jane.doe@example.com, 13812345678"
    )
    sent = fake.sent_text()
    assert "pricing page" in sent
    assert "jane.doe@example.com" not in sent and "13812345678" not in sent


async def test_code_review_sends_only_rules_of_people_who_agreed(
    console: ConsoleClient, fake: FakeOpenAI
) -> None:
    await agree_to_model(console, "alice")
    review = await reply_text(console, "alice", "team", "/skill code-review\n" + FLOAT_AND_PRINT)
    assert fake.requests == [] and "The model was not used" in review  # bob and dave taught it
    await agree_to_model(console, "dave")
    fake.answers = [review_answer]
    review = await reply_text(console, "alice", "team", "/skill code-review\n" + FLOAT_AND_PRINT)
    assert MODEL_MARK in review and "line 3: `print(amount)`" in review
    assert "no print() in production code" in review
    sent = fake.sent_text()
    for leaked in BOB_RULES:
        assert leaked not in sent


async def test_a_finding_on_a_line_that_is_not_there_is_rejected(
    console: ConsoleClient, fake: FakeOpenAI
) -> None:
    await agree_to_model(console, "alice")
    await agree_to_model(console, "dave")
    wrong = {"findings": [{"rule": "r1", "line": 40, "code": "print(secret)"}]}
    fake.answers = [json.dumps(wrong), review_answer]
    review = await reply_text(console, "alice", "team", "/skill code-review\n" + FLOAT_AND_PRINT)
    assert MODEL_MARK in review
    assert "line 40 is not a line of the snippet" in fake.prompts()[1]
