"""The DingTalk adapter end to end: the real Application and the real dingtalk-stream client
against a local fake DingTalk (tests/fakes/dingtalk.py) running in its own thread."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import Application
from bot.settings import Settings
from tests.conftest import make_settings
from tests.fakes.dingtalk import FakeDingTalk, Group, Person
from tests.test_end_to_end import count, database_bytes

ADMIN = Person("admin001", "Ada Admin")
ALICE = Person("alice001", "Alice")
CAROL = Person("carol001", "Carol")
TEAM = Group("cidTeam0001==", "Team Alpha")
ALICE_WORDS = "alice-quokka-7 finished the invoice export"
CAROL_WORDS = "carol-zebra-42 thinks the wifi is slow"
CARD_TEMPLATE = "apprentice-consent.schema"
OPEN_PATH = "/v1.0/gateway/connections/open"


@pytest.fixture
def fake() -> Any:
    dingtalk = FakeDingTalk()
    dingtalk.start()
    yield dingtalk
    dingtalk.stop()


def bot_settings(tmp_path: Path, fake: FakeDingTalk, **overrides: Any) -> Settings:
    """Only the DingTalk adapter, pointed at the fake."""
    values: dict[str, Any] = {
        "console": False,
        "dingtalk_client_id": fake.client_id,
        "dingtalk_client_secret": fake.client_secret,
        "dingtalk_openapi_endpoint": fake.base_url,
        "admins": [f"dingtalk:{ADMIN.staff_id}"],
    }
    return make_settings(tmp_path / "data", **{**values, **overrides})


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Application]:
    """The real Application, started and stopped in one task: tortoise's connections are
    context-local, so a stop from another task would leave the database open."""
    application = Application(settings)
    await application.start(serve_web=False)
    try:
        yield application
    finally:
        await application.stop()


@pytest.fixture
async def bot(tmp_path: Path, fake: FakeDingTalk) -> AsyncIterator[Application]:
    async with running(bot_settings(tmp_path, fake)) as application:
        await fake.wait_connections(1)
        yield application


@pytest.fixture
async def card_bot(tmp_path: Path, fake: FakeDingTalk) -> AsyncIterator[Application]:
    """Consent notices as interactive cards (a card template is configured)."""
    settings = bot_settings(tmp_path, fake, dingtalk_card_template_id=CARD_TEMPLATE)
    async with running(settings) as application:
        await fake.wait_connections(1)
        yield application


async def say(
    fake: FakeDingTalk, person: Person, text: str, group: Group | None = None, **extra: Any
) -> dict[str, Any]:
    """`person` writes `text` (to the bot, or in `group`); returns the client's ack."""
    return await fake.deliver(fake.chat(person, text, group=group, **extra))


async def settle(fake: FakeDingTalk, person: Person) -> None:
    """Wait until everything `person` sent before has been handled (their events are ordered)."""
    before = sum("recurring work" in s.text for s in fake.sent_to(person))
    await say(fake, person, "/skill help")
    await fake.wait_sent(
        lambda s: s.to_user == person.staff_id and "recurring work" in s.text,
        f"help #{before + 1} for {person.staff_id}",
    )
    await fake._until(
        lambda: sum("recurring work" in s.text for s in fake.sent_to(person)) > before,
        "the barrier's reply",
        5.0,
    )


async def opt_in(fake: FakeDingTalk, person: Person) -> None:
    """Ask for the notice in a DM and press its Agree button (it sends the typed reply)."""
    await say(fake, person, "/skill optin")
    notice = await fake.wait_dm(person, "learn from your messages")
    await say(fake, person, notice.button_links()["Agree"])
    await fake.wait_dm(person, "Thank you")


async def observe_team(fake: FakeDingTalk) -> None:
    await say(fake, ADMIN, " skill admin observe #TeamAlpha", TEAM, at_bot=True)
    await fake.wait_in_group(TEAM, "now observed")


async def eventually(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + 30  # a bound for a broken build, not a speed target
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def observations_are(expected: int) -> bool:
    return await count("observations") == expected


# -- Stream mode ---------------------------------------------------------------------


async def test_connects_in_stream_mode_with_the_app_credentials(
    bot: Application, fake: FakeDingTalk
) -> None:
    opened = fake.calls_to(OPEN_PATH)[0].body
    assert opened["clientId"] == fake.client_id
    topics = {(s["type"], s["topic"]) for s in opened["subscriptions"]}
    assert ("CALLBACK", "/v1.0/im/bot/messages/get") in topics
    assert ("CALLBACK", "/v1.0/card/instances/callback") in topics


async def test_ping_is_acked_by_echoing_its_data(bot: Application, fake: FakeDingTalk) -> None:
    frame = fake.system("ping")
    ack = await fake.deliver(frame)
    assert ack["code"] == 200 and ack["headers"]["messageId"] == frame["headers"]["messageId"]
    assert json.loads(ack["data"]) == json.loads(frame["data"])


async def test_event_and_callback_frames_are_acked_ok(bot: Application, fake: FakeDingTalk) -> None:
    event_ack = await fake.deliver(fake.event("chat_update_title"))
    chat_ack = await say(fake, ALICE, "hello bot")
    assert event_ack["code"] == 200 and chat_ack["code"] == 200


async def test_the_ack_comes_before_the_work(bot: Application, fake: FakeDingTalk) -> None:
    frame = fake.chat(ALICE, "/skill help")
    await fake.deliver(frame)
    reply = await fake.wait_dm(ALICE, "recurring work")
    assert fake.ack_times[frame["headers"]["messageId"]] < reply.at


async def test_disconnect_frame_makes_the_client_reconnect(
    bot: Application, fake: FakeDingTalk
) -> None:
    ack = await fake.deliver(fake.system("disconnect"))
    assert ack["code"] == 200
    await fake.wait_connections(2)


async def test_dropped_socket_reconnects_and_nothing_acked_is_lost(
    bot: Application, fake: FakeDingTalk
) -> None:
    await observe_team(fake)
    await opt_in(fake, ALICE)
    await say(fake, ALICE, "before the drop", TEAM)
    await fake.drop_connection()
    during = await fake.push(fake.chat(ALICE, "sent while the socket was down", group=TEAM))
    await fake.wait_connections(2)
    await fake.wait_ack(during)
    await eventually(lambda: observations_are(2), "both messages stored")


async def test_same_message_delivered_twice_is_processed_once(
    bot: Application, fake: FakeDingTalk
) -> None:
    await observe_team(fake)
    await opt_in(fake, ALICE)
    first = fake.chat(ALICE, ALICE_WORDS, group=TEAM, msg_id="msgRepeated0001")
    again = fake.chat(ALICE, ALICE_WORDS, group=TEAM, msg_id="msgRepeated0001")
    assert (await fake.deliver(first))["code"] == 200
    assert (await fake.deliver(again))["code"] == 200
    await settle(fake, ALICE)
    assert await count("observations") == 1


async def test_same_command_delivered_twice_is_answered_once(
    bot: Application, fake: FakeDingTalk
) -> None:
    for _ in range(2):
        await fake.deliver(fake.chat(ALICE, "/skill optin", msg_id="msgRepeated0002"))
    await settle(fake, ALICE)
    notices = [s for s in fake.sent_to(ALICE) if "learn from your messages" in s.text]
    assert len(notices) == 1


async def test_a_redelivered_card_click_is_handled_once(
    card_bot: Application, fake: FakeDingTalk
) -> None:
    await say(fake, ALICE, "/skill optin")
    card = await fake.wait_sent(lambda s: s.via == "card", "a consent card")
    click = fake.card_click(ALICE, str(card.out_track_id), **_agree(card))
    await fake.deliver(click)
    await fake.deliver(click)  # same frame messageId: DingTalk resending an unacked callback
    await settle(fake, ALICE)
    assert await count("consent_events", "action = ?", "grant") == 1


async def test_slow_connection_open_does_not_block_the_bot(
    tmp_path: Path, fake: FakeDingTalk
) -> None:
    fake.hold_open = True  # the fake answers the open request only when released
    async with running(bot_settings(tmp_path, fake)):
        # Had the SDK's blocking requests.post run on the event loop, this wait could not run
        # until the fake gave up holding (and the request would no longer be held).
        await fake._until(fake.open_held.is_set, "the held connection request", 30)
        await asyncio.sleep(0)
        assert fake.open_held.is_set() and fake.connections == 0
        fake.release_open()
        await fake.wait_connections(1)


async def test_refused_credentials_are_retried_with_backoff(
    tmp_path: Path, fake: FakeDingTalk
) -> None:
    settings = bot_settings(tmp_path, fake, dingtalk_client_secret="not-the-secret")
    async with running(settings):
        await fake._until(lambda: len(fake.calls_to(OPEN_PATH)) >= 2, "a second attempt", 30)
    first, second = fake.calls_to(OPEN_PATH)[:2]
    assert second.at - first.at >= 0.4 and fake.connections == 0


async def test_stopping_the_bot_closes_the_socket_promptly(
    tmp_path: Path, fake: FakeDingTalk
) -> None:
    application = Application(bot_settings(tmp_path, fake))
    await application.start(serve_web=False)
    await fake.wait_connections(1)
    await application.stop()
    await fake._until(lambda: fake._socket is None, "the socket to close", 30.0)


# -- consent ---------------------------------------------------------------------------


async def test_optin_sends_an_action_card_whose_buttons_send_the_typed_reply(
    bot: Application, fake: FakeDingTalk
) -> None:
    await say(fake, ALICE, "/skill optin")
    notice = await fake.wait_dm(ALICE, "learn from your messages")
    assert notice.kind == "actionCard"
    assert notice.button_links() == {
        "Agree": "/skill optin yes",
        "No thanks": "/skill optin no",
    }


async def test_consent_by_action_card_button_stores_group_messages(
    bot: Application, fake: FakeDingTalk
) -> None:
    await observe_team(fake)
    await opt_in(fake, ALICE)
    await say(fake, ALICE, ALICE_WORDS, TEAM)
    await eventually(lambda: observations_are(1), "alice's message stored")


async def test_consent_by_card_button_records_the_choice_and_updates_the_card(
    card_bot: Application, fake: FakeDingTalk
) -> None:
    await observe_team(fake)
    await say(fake, ALICE, "/skill optin")
    card = await fake.wait_sent(lambda s: s.via == "card", "a consent card")
    assert card.to_user == ALICE.staff_id
    assert [b["text"] for b in card.buttons] == ["Agree", "No thanks"]
    agree = card.buttons[0]
    click = fake.card_click(ALICE, str(card.out_track_id), agree["action_id"], agree["value"])
    assert (await fake.deliver(click))["code"] == 200
    await fake._until(
        lambda: "Thank you" in fake.cards[str(card.out_track_id)]["markdown"],
        "the card to show the answer",
        5.0,
    )
    assert json.loads(fake.cards[str(card.out_track_id)]["buttons"]) == []
    await say(fake, ALICE, ALICE_WORDS, TEAM)
    await eventually(lambda: observations_are(1), "alice's message stored")


async def test_card_creation_names_the_template_and_calls_back_over_stream(
    card_bot: Application, fake: FakeDingTalk
) -> None:
    await say(fake, ALICE, "/skill optin")
    await fake.wait_sent(lambda s: s.via == "card", "a consent card")
    body = fake.calls_to("/v1.0/card/instances/createAndDeliver")[0].body
    assert body["cardTemplateId"] == CARD_TEMPLATE and body["callbackType"] == "STREAM"
    assert body["openSpaceId"] == f"dtv1.card//IM_ROBOT.{ALICE.staff_id}"


async def test_typed_no_declines_and_nothing_is_stored(
    bot: Application, fake: FakeDingTalk
) -> None:
    await observe_team(fake)
    await say(fake, CAROL, "/skill optin")
    await fake.wait_dm(CAROL, "learn from your messages")
    await say(fake, CAROL, "/skill optin no")
    await fake.wait_dm(CAROL, "nothing you write will be kept")
    await say(fake, CAROL, CAROL_WORDS, TEAM)
    await settle(fake, CAROL)
    assert await count("observations") == 0
    rows = await count("consent_events", "user_id = ? AND action = ?", CAROL.staff_id, "decline")
    assert rows == 1


async def test_typed_yes_without_a_notice_shows_the_notice_first(
    bot: Application, fake: FakeDingTalk
) -> None:
    await say(fake, ALICE, "/skill optin yes")
    await fake.wait_dm(ALICE, "learn from your messages")
    assert await count("consent_events", "action = ?", "grant") == 0


async def test_typed_yes_after_the_notice_grants_consent(
    bot: Application, fake: FakeDingTalk
) -> None:
    await say(fake, ALICE, "/skill optin")
    await fake.wait_dm(ALICE, "learn from your messages")
    await say(fake, ALICE, "/skill optin yes")
    await fake.wait_dm(ALICE, "Thank you")
    typed = "user_id = ? AND action = ? AND mechanism = ?"
    assert await count("consent_events", typed, ALICE.staff_id, "grant", "text:consent.agree") == 1


# -- observation -----------------------------------------------------------------------


async def test_group_messages_are_stored_only_from_people_who_agreed(
    bot: Application, fake: FakeDingTalk
) -> None:
    await observe_team(fake)
    await opt_in(fake, ALICE)
    await say(fake, ALICE, ALICE_WORDS, TEAM)
    await say(fake, CAROL, CAROL_WORDS, TEAM)
    await fake.wait_dm(CAROL, "learn from your messages")  # asked once, by direct message
    await settle(fake, ALICE)
    assert await count("observations") == 1


async def test_carol_is_asked_by_the_robot_api_when_no_conversation_is_open(
    bot: Application, fake: FakeDingTalk
) -> None:
    await observe_team(fake)
    await say(fake, CAROL, CAROL_WORDS, TEAM)
    notice = await fake.wait_dm(CAROL, "learn from your messages")
    assert notice.via == "robot" and notice.kind == "sampleActionCard2"
    assert notice.button_links()["No thanks"] == "/skill optin no"


async def test_one_to_one_messages_are_never_stored(bot: Application, fake: FakeDingTalk) -> None:
    await observe_team(fake)
    await opt_in(fake, ALICE)
    await say(fake, ALICE, "alice-secret-dm-narwhal")
    await fake.wait_dm(ALICE, "I don't read direct messages")
    assert await count("observations") == 0


async def test_database_holds_no_plaintext(bot: Application, fake: FakeDingTalk) -> None:
    await observe_team(fake)
    await opt_in(fake, ALICE)
    await say(fake, ALICE, ALICE_WORDS, TEAM)
    await say(fake, CAROL, CAROL_WORDS, TEAM)
    await settle(fake, ALICE)
    await settle(fake, CAROL)
    stored = database_bytes(bot)
    for word in (ALICE_WORDS + " " + CAROL_WORDS).split():
        if len(word) > 6:
            assert word.encode() not in stored


# -- rights and admin commands ------------------------------------------------------------


async def test_mydata_sends_the_summary_and_export_by_direct_message(
    bot: Application, fake: FakeDingTalk
) -> None:
    await observe_team(fake)
    await opt_in(fake, ALICE)
    await say(fake, ALICE, ALICE_WORDS, TEAM)
    await eventually(lambda: observations_are(1), "alice's message stored")
    await say(fake, ALICE, " skill mydata", TEAM, at_bot=True)
    summary = await fake.wait_dm(ALICE, "messages kept: 1")
    assert "#Team Alpha: 1" in summary.text
    export = await fake.wait_sent(
        lambda s: s.to_user == ALICE.staff_id and s.text.startswith("mydata.json\n"), "the export"
    )
    assert json.loads(export.text.split("\n", 1)[1])["observations"][0]["text"] == ALICE_WORDS
    public = await fake.wait_in_group(TEAM, "direct messages")
    assert ALICE_WORDS not in public.text


async def test_forget_erases_everything_and_sends_a_receipt(
    bot: Application, fake: FakeDingTalk
) -> None:
    await observe_team(fake)
    await opt_in(fake, ALICE)
    await say(fake, ALICE, ALICE_WORDS, TEAM)
    await eventually(lambda: observations_are(1), "alice's message stored")
    await say(fake, ALICE, "/skill forget")
    receipt = await fake.wait_dm(ALICE, "Erasure receipt")
    assert "messages deleted: 1" in receipt.text
    assert bot.eraser is not None
    await bot.eraser.idle()  # the key went with the receipt; the rows go in the background
    assert await count("observations") == 0


async def test_admin_observe_posts_a_visible_notice_in_the_group(
    bot: Application, fake: FakeDingTalk
) -> None:
    await say(fake, ADMIN, " skill admin observe #TeamAlpha", TEAM, at_bot=True)
    notice = await fake.wait_in_group(TEAM, "now observes #Team Alpha")
    assert "/skill optin" in notice.text
    # The notice goes out before the channel is marked: wait for the admin's confirmation.
    await fake.wait_in_group(TEAM, "is now observed")
    assert await count("channels", "channel_id = ? AND observed = 1", TEAM.id) == 1


async def test_admin_commands_are_refused_to_others(bot: Application, fake: FakeDingTalk) -> None:
    await say(fake, CAROL, "/skill admin observe #TeamAlpha", TEAM)
    await fake.wait_in_group(TEAM, "admin commands are for workspace admins")
    assert await count("channels", "observed = 1") == 0


async def test_admin_status_and_audit_report_without_message_text(
    bot: Application, fake: FakeDingTalk
) -> None:
    await observe_team(fake)
    await opt_in(fake, ALICE)
    await say(fake, ALICE, ALICE_WORDS, TEAM)
    await eventually(lambda: observations_are(1), "alice's message stored")
    await say(fake, ADMIN, "/skill admin status")
    status = await fake.wait_dm(ADMIN, "Apprentice status")
    assert "#Team Alpha" in status.text and "messages kept: 1" in status.text
    await say(fake, ADMIN, "/skill admin audit")
    audit = await fake.wait_dm(ADMIN, "Audit log")
    assert "consent.grant" in audit.text and ALICE_WORDS.split()[0] not in audit.text


async def test_admin_revoke_erases_and_notifies_the_person(
    bot: Application, fake: FakeDingTalk
) -> None:
    await observe_team(fake)
    await opt_in(fake, ALICE)
    await say(fake, ALICE, ALICE_WORDS, TEAM)
    await eventually(lambda: observations_are(1), "alice's message stored")
    await say(fake, ADMIN, f"/skill admin revoke @{ALICE.staff_id}", TEAM)
    await fake.wait_in_group(TEAM, f"Revoked @{ALICE.staff_id}: 1 messages deleted")
    await fake.wait_dm(ALICE, "An admin of this workspace revoked")
    assert bot.eraser is not None
    await bot.eraser.idle()  # the key went with the receipt; the rows go in the background
    assert await count("observations") == 0


# -- sending -------------------------------------------------------------------------------


async def test_robot_api_reuses_one_cached_access_token(
    bot: Application, fake: FakeDingTalk
) -> None:
    await observe_team(fake)
    for person in (CAROL, Person("dave001", "Dave"), Person("erin001", "Erin")):
        await say(fake, person, f"hello from {person.nick}", TEAM)
        await fake.wait_dm(person, "learn from your messages")
    assert len(fake.calls_to("/v1.0/robot/oToMessages/batchSend")) == 3
    assert len(fake.calls_to("/v1.0/oauth2/accessToken")) == 1


async def test_expired_session_webhook_falls_back_to_the_group_api(
    bot: Application, fake: FakeDingTalk
) -> None:
    await say(fake, ALICE, "/skill help", TEAM, webhook_expired=True)
    reply = await fake.wait_in_group(TEAM, "recurring work")
    assert reply.via == "robot"
    assert fake.calls_to("/robot/sendBySession") == []


async def test_a_throttled_send_is_retried(bot: Application, fake: FakeDingTalk) -> None:
    fake.fail_next(
        "/v1.0/robot/oToMessages/batchSend",
        429,
        {"code": "Forbidden.AccessDenied.QpsLimitForApi"},
        {"Retry-After": "0.1"},
    )
    await observe_team(fake)
    await say(fake, CAROL, CAROL_WORDS, TEAM)
    await fake.wait_dm(CAROL, "learn from your messages")
    assert len(fake.calls_to("/v1.0/robot/oToMessages/batchSend")) == 2


def _agree(card: Any) -> dict[str, str]:
    agree = card.buttons[0]
    return {"action_id": agree["action_id"], "value": agree["value"]}


def test_reconnect_delays_grow_to_a_cap_and_reset() -> None:
    from adapters.dingtalk.stream import Backoff  # noqa: PLC0415 - loads the SDK

    backoff = Backoff(initial=1.0, maximum=8.0)
    delays = [backoff.next() for _ in range(6)]
    assert 0.8 <= delays[0] <= 1.2 and all(d <= 8.0 * 1.2 for d in delays)
    assert delays[4] >= 8.0 * 0.8
    backoff.reset()
    assert backoff.next() <= 1.2


def test_loading_the_sdk_points_it_at_the_endpoint_and_leaves_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from adapters.dingtalk.adapter import load_stream  # noqa: PLC0415

    monkeypatch.delenv("DINGTALK_OPENAPI_ENDPOINT", raising=False)
    stream = load_stream("http://127.0.0.1:9")
    assert stream.DingTalkStreamClient.OPEN_CONNECTION_API == (
        "http://127.0.0.1:9/v1.0/gateway/connections/open"
    )
    assert "DINGTALK_OPENAPI_ENDPOINT" not in os.environ
