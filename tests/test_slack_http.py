"""Slack over HTTP: the real Application, Bolt and slack_sdk against the local fake Slack."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from tortoise import Tortoise

from bot.app import Application
from tests.fakes.slack import (
    ADMIN,
    ALICE,
    BOB,
    BOT_USER_ID,
    CAROL,
    RANDOM_CHANNEL,
    SECRET_CHANNEL,
    TEAM_CHANNEL,
    FakeSlack,
    HttpTransport,
    SignedPoster,
    Workspace,
    bot_message,
    event_callback,
    message,
    message_changed,
    message_deleted,
    running_app,
    running_fake,
    slack_settings,
    slash_command,
    url_verification,
)

ALICE_WORDS = "alice-quokka-7 finished the invoice export"
CAROL_WORDS = "carol-zebra-42 thinks the wifi is slow"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with running_fake() as fake:
        yield fake


@pytest.fixture
async def slack_app(tmp_path: Path, fake: FakeSlack) -> AsyncIterator[Application]:
    async with running_app(slack_settings(tmp_path / "data", fake)) as app:
        yield app


@pytest.fixture
async def poster(slack_app: Application) -> AsyncIterator[SignedPoster]:
    url = f"http://127.0.0.1:{slack_app.settings.web_port}/slack/events"
    async with ClientSession() as session:
        yield SignedPoster(session, url)


@pytest.fixture
def slack(fake: FakeSlack, poster: SignedPoster) -> Workspace:
    return Workspace(fake, HttpTransport(poster))


async def count(table: str, where: str = "1=1", *params: object) -> int:
    connection = Tortoise.get_connection("default")
    _, rows = await connection.execute_query(
        f"SELECT COUNT(*) AS n FROM {table} WHERE {where}", list(params)
    )
    return int(rows[0][0] if not isinstance(rows[0], dict) else rows[0]["n"])


async def wait_count(table: str, expected: int, where: str = "1=1", *params: object) -> None:
    deadline = time.monotonic() + 30  # a bound for a broken build, not a speed target
    while await count(table, where, *params) != expected:
        assert time.monotonic() < deadline, f"{table} never had {expected} rows"
        await _tick()


async def _tick() -> None:
    await asyncio.sleep(0.02)


def database_bytes(app: Application) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(app.settings.data_dir.glob("apprentice.db*")))


async def answered_in_thread(slack: Workspace, fake: FakeSlack, user: str) -> None:
    """A sentinel: `user` asks for help in a thread and gets the answer there."""
    thread = "1700000000.999999"
    await slack.say(user, TEAM_CHANNEL, f"<@{BOT_USER_ID}> skill help", thread_ts=thread)
    await fake.wait_for(
        lambda: [p for p in fake.messages_in(TEAM_CHANNEL) if p.thread_ts == thread],
        what="the answer in the thread",
    )


async def genuine_request_is_handled(slack: Workspace, fake: FakeSlack) -> None:
    """A sentinel: once a genuine event was answered, a forged one would have been too."""
    before = len(fake.messages_in(TEAM_CHANNEL))
    await slack.say(BOB, TEAM_CHANNEL, f"<@{BOT_USER_ID}> skill help")
    await fake.wait_for(lambda: len(fake.messages_in(TEAM_CHANNEL)) > before, what="a reply")


async def observed_team_with_alice(slack: Workspace) -> None:
    await slack.observe(TEAM_CHANNEL, "team")
    await slack.opt_in(ALICE)


async def stored_texts(app: Application, user_id: str) -> list[str]:
    assert app.services is not None
    tenant = await app.services.directory.find_tenant("slack", "T0TEAM")
    assert tenant is not None
    person = await app.services.people.find(tenant, user_id)
    return [o.text for o in await app.services.observations.read(person)] if person else []


# -- requests Slack makes -------------------------------------------------------------------


async def test_url_verification_is_answered_with_the_challenge(poster: SignedPoster) -> None:
    answer = await poster.event(url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7"))
    assert answer.status == 200
    assert answer.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7"}


async def test_forged_signature_gets_401_and_changes_nothing(
    slack: Workspace, poster: SignedPoster, fake: FakeSlack
) -> None:
    await slack.observe(TEAM_CHANNEL, "team")
    form = slash_command(ALICE, "alice", TEAM_CHANNEL, "team", "optin", fake.response_url())
    forged = await poster.command(form, secret="not-the-signing-secret")
    event = event_callback(message(CAROL, TEAM_CHANNEL, CAROL_WORDS))
    forged_event = await poster.event(event, secret="not-the-signing-secret")
    assert (forged.status, forged_event.status) == (401, 401)
    await genuine_request_is_handled(slack, fake)
    assert not fake.calls_to("conversations.open") and len(fake.responses) == 1
    assert await count("consent_prompts") == 0 and await count("observations") == 0


async def test_six_minute_old_timestamp_gets_401_and_changes_nothing(
    slack: Workspace, poster: SignedPoster, fake: FakeSlack
) -> None:
    form = slash_command(ALICE, "alice", TEAM_CHANNEL, "team", "optin", fake.response_url())
    stale = await poster.command(form, timestamp=int(time.time()) - 6 * 60)
    assert stale.status == 401
    await genuine_request_is_handled(slack, fake)
    assert not fake.calls_to("conversations.open") and not fake.responses
    assert await count("consent_events") == 0


async def test_a_retried_event_is_acked_and_processed_once(
    slack: Workspace, poster: SignedPoster, fake: FakeSlack
) -> None:
    event = event_callback(message(ALICE, TEAM_CHANNEL, f"<@{BOT_USER_ID}> skill help"))
    answers = [await poster.event(event, retry_num=n or None) for n in range(3)]
    assert [a.status for a in answers] == [200, 200, 200]
    await answered_in_thread(slack, fake, ALICE)  # her next event, handled after those
    assert len([p for p in fake.messages_in(TEAM_CHANNEL) if p.thread_ts is None]) == 1


# -- consent --------------------------------------------------------------------------------


async def test_skill_optin_is_acked_in_3_seconds_and_dms_agree_and_no_thanks(
    slack: Workspace, fake: FakeSlack
) -> None:
    ack = await slack.command(ALICE, "optin")
    assert ack.status == 200 and ack.seconds < 3
    dm = await slack.consent_dm(ALICE)
    assert [b["text"]["text"] for b in dm.buttons] == ["Agree", "No thanks"]
    assert [b["action_id"] for b in dm.buttons] == ["consent.agree", "consent.decline"]
    assert "never your direct messages" in dm.shown_text
    assert fake.calls_to("conversations.open")[0].params["users"] == ALICE


async def test_the_reply_to_a_slash_command_goes_to_its_response_url(
    slack: Workspace, fake: FakeSlack
) -> None:
    await slack.command(ALICE, "optin")
    reply = await fake.wait_for(lambda: fake.responses, what="the response_url answer")
    assert reply[0]["response_type"] == "ephemeral"
    assert "direct message" in reply[0]["text"]
    assert not fake.messages_in(TEAM_CHANNEL)  # nothing said in the channel itself


async def test_when_the_response_url_has_expired_the_answer_goes_to_the_dm(
    slack: Workspace, fake: FakeSlack
) -> None:
    fake.response_url_status = 404
    await slack.command(ALICE, "optin")
    dm = fake.dm_channel(ALICE)
    await fake.wait_for(lambda: len(fake.messages_in(dm)) == 2, what="the notice and the answer")
    assert "direct message" in fake.messages_in(dm)[1].text


async def test_clicking_agree_records_the_grant_and_updates_the_dm(
    slack: Workspace, fake: FakeSlack
) -> None:
    dm = await slack.opt_in(ALICE)
    assert not dm.buttons and "Thank you" in dm.shown_text
    assert await count("consent_events", "user_id = ? AND action = 'grant'", ALICE) == 1
    grant = await Tortoise.get_connection("default").execute_query_dict(
        "SELECT mechanism, language FROM consent_events WHERE user_id = ?", [ALICE]
    )
    assert grant == [{"mechanism": "button:consent.agree", "language": "en"}]


async def test_no_thanks_records_a_decline(slack: Workspace, fake: FakeSlack) -> None:
    await slack.command(BOB, "optin")
    dm = await slack.consent_dm(BOB)
    await slack.click(BOB, dm, "No thanks")
    await fake.wait_for(lambda: dm.updates > 0, what="the DM update")
    assert "No problem" in dm.shown_text
    assert await count("consent_events", "user_id = ? AND action = 'decline'", BOB) == 1


async def test_the_notice_is_in_the_persons_slack_locale(slack: Workspace) -> None:
    await slack.command(CAROL, "optin")
    dm = await slack.consent_dm(CAROL)
    assert "Apprentice 希望从你的消息中学习" in dm.shown_text


async def test_observe_posts_a_normal_message_in_the_channel(
    slack: Workspace, fake: FakeSlack
) -> None:
    await slack.observe(TEAM_CHANNEL, "team")
    notice = fake.messages_in(TEAM_CHANNEL)[0]
    assert "observes #team" in notice.text and "/skill optin" in notice.text
    assert notice.thread_ts is None
    confirmation = await fake.wait_for(lambda: fake.responses, what="the admin's answer")
    assert "now observed" in confirmation[0]["text"]


async def test_observing_a_public_channel_joins_it(slack: Workspace, fake: FakeSlack) -> None:
    await slack.observe(RANDOM_CHANNEL, "random")
    assert fake.calls_to("conversations.join")[0].params["channel"] == RANDOM_CHANNEL
    assert "observes #random" in fake.messages_in(RANDOM_CHANNEL)[0].text


async def test_observe_by_name_finds_the_channel(slack: Workspace, fake: FakeSlack) -> None:
    await slack.command(ADMIN, "admin observe #team")
    await fake.wait_for(lambda: fake.messages_in(TEAM_CHANNEL), what="the notice")
    assert fake.calls_to("conversations.list")


async def test_a_private_channel_the_bot_was_not_added_to_is_not_found(
    slack: Workspace, fake: FakeSlack
) -> None:
    await slack.command(ADMIN, f"admin observe <#{SECRET_CHANNEL}|secret>")
    reply = await fake.wait_for(lambda: fake.responses, what="the admin's answer")
    assert "can't find" in reply[0]["text"]
    assert await count("channels", "observed = 1") == 0


async def test_only_non_admins_are_refused_admin_commands(
    slack: Workspace, fake: FakeSlack
) -> None:
    await slack.command(ALICE, f"admin observe <#{TEAM_CHANNEL}|team>")
    reply = await fake.wait_for(lambda: fake.responses, what="the refusal")
    assert "admin commands are for workspace admins" in reply[0]["text"]


# -- observation ----------------------------------------------------------------------------


async def test_only_the_consenting_authors_messages_are_stored(
    slack: Workspace, fake: FakeSlack, slack_app: Application
) -> None:
    await observed_team_with_alice(slack)
    await slack.say(ALICE, TEAM_CHANNEL, ALICE_WORDS)
    await slack.say(CAROL, TEAM_CHANNEL, CAROL_WORDS)
    await slack.consent_dm(CAROL)  # carol is asked once, in her DM
    await wait_count("observations", 1)
    assert await stored_texts(slack_app, ALICE) == [ALICE_WORDS]
    stored = database_bytes(slack_app)
    for words in (ALICE_WORDS, CAROL_WORDS):
        assert words.split()[0].encode() not in stored


async def test_messages_in_a_channel_that_is_not_observed_are_not_stored(
    slack: Workspace, fake: FakeSlack
) -> None:
    await slack.opt_in(ALICE)
    await slack.say(ALICE, RANDOM_CHANNEL, ALICE_WORDS)
    await slack.say(ALICE, TEAM_CHANNEL, f"<@{BOT_USER_ID}> skill help")  # processed after
    await fake.wait_for(lambda: fake.messages_in(TEAM_CHANNEL), what="the help reply")
    assert await count("observations") == 0


async def test_a_thread_reply_is_stored_with_its_thread(
    slack: Workspace, slack_app: Application
) -> None:
    await observed_team_with_alice(slack)
    await slack.say(ALICE, TEAM_CHANNEL, "a reply in a thread", thread_ts="1700000000.000100")
    await wait_count("observations", 1, "thread_id = ?", "1700000000.000100")


async def test_an_edited_message_replaces_the_stored_text(
    slack: Workspace, slack_app: Application
) -> None:
    await observed_team_with_alice(slack)
    sent = await slack.say(ALICE, TEAM_CHANNEL, "the report is due Friday")
    await wait_count("observations", 1)
    ts = sent["event"]["ts"]
    edit = message_changed(ALICE, TEAM_CHANNEL, ts, "the report is due Friday", "due Monday")
    await slack.transport.event(event_callback(edit))
    deadline = time.monotonic() + 30  # a bound for a broken build, not a speed target
    while await stored_texts(slack_app, ALICE) != ["due Monday"]:
        assert time.monotonic() < deadline, "the edit never replaced the text"
        await _tick()
    assert await count("observations") == 1


async def test_a_deleted_message_is_erased(slack: Workspace) -> None:
    await observed_team_with_alice(slack)
    sent = await slack.say(ALICE, TEAM_CHANNEL, "posted by mistake")
    await wait_count("observations", 1)
    deleted = message_deleted(ALICE, TEAM_CHANNEL, sent["event"]["ts"], "posted by mistake")
    await slack.transport.event(event_callback(deleted))
    await wait_count("observations", 0)


async def test_bot_messages_are_ignored(slack: Workspace, fake: FakeSlack) -> None:
    await slack.observe(TEAM_CHANNEL, "team")
    await slack.transport.event(event_callback(bot_message(TEAM_CHANNEL, "build passed")))
    await slack.say(BOB, TEAM_CHANNEL, f"<@{BOT_USER_ID}> skill help")
    await fake.wait_for(lambda: len(fake.messages_in(TEAM_CHANNEL)) == 2, what="the reply")
    assert await count("observations") == 0 and await count("consent_prompts") == 0


async def test_a_dm_to_the_bot_is_read_only_as_a_command(slack: Workspace, fake: FakeSlack) -> None:
    await slack.opt_in(ALICE)
    dm = fake.dm_channel(ALICE)
    before = len(fake.messages_in(dm))
    await slack.say(ALICE, dm, "my private thoughts", channel_type="im")
    await slack.say(ALICE, dm, "skill help", channel_type="im")
    await fake.wait_for(lambda: len(fake.messages_in(dm)) >= before + 2, what="two DM replies")
    replies = [p.text for p in fake.messages_in(dm)[before:]]
    assert "only commands" in replies[0] and "/skill" in replies[1]
    assert await count("observations") == 0


async def test_a_mention_in_a_channel_is_a_command_answered_there(
    slack: Workspace, fake: FakeSlack
) -> None:
    await slack.say(BOB, TEAM_CHANNEL, f"<@{BOT_USER_ID}> skill help", thread_ts="1700.000001")
    reply = await fake.wait_for(lambda: fake.messages_in(TEAM_CHANNEL), what="the reply")
    assert "/skill" in reply[0].text and reply[0].thread_ts == "1700.000001"


# -- sending --------------------------------------------------------------------------------


async def test_a_slow_command_is_acked_with_working_on_it_and_answered_later(
    slack: Workspace, fake: FakeSlack
) -> None:
    fake.rate_limit("chat.postMessage", retry_after=2)  # the consent DM must wait 2 s
    ack = await slack.command(ALICE, "optin")
    assert ack.status == 200 and ack.seconds < 3
    assert "Working on it" in ack.json()["text"]
    dm = await slack.consent_dm(ALICE)
    assert dm.buttons
    first, second = fake.calls_to("chat.postMessage")[:2]
    assert first.params["channel"] == second.params["channel"]  # the same DM, retried


async def test_users_info_is_asked_once_per_person(slack: Workspace, fake: FakeSlack) -> None:
    await slack.observe(TEAM_CHANNEL, "team")
    for n in range(3):
        await slack.say(BOB, TEAM_CHANNEL, f"message {n}")
    await slack.consent_dm(BOB)
    await _tick()
    asked: list[Any] = [c.params["user"] for c in fake.calls_to("users.info")]
    assert asked.count(BOB) == 1


async def test_mydata_is_uploaded_as_a_file_in_the_dm(slack: Workspace, fake: FakeSlack) -> None:
    await observed_team_with_alice(slack)
    await slack.say(ALICE, TEAM_CHANNEL, ALICE_WORDS)
    await wait_count("observations", 1)
    await slack.command(ALICE, "mydata")
    shared = await fake.wait_for(lambda: fake.shared_files, what="the mydata.json upload")
    assert shared[0]["title"] == "mydata.json"
    assert shared[0]["channel"] == fake.dm_channel(ALICE)
    assert ALICE_WORDS.encode() in shared[0]["content"]
