"""Lark over the long connection: the real Application and lark-oapi against a local fake."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tortoise import Tortoise

from bot.app import Application
from tests.fakes.lark import (
    BOT_NAME,
    BOT_OPEN_ID,
    FakeLark,
    Sent,
    card_action_payload,
    lark_settings,
    message_payload,
    recall_payload,
    settle,
    wait_for,
)

ALICE, CAROL, ADMIN = "ou_alice", "ou_carol", "ou_admin"
ALICE_WORDS = "alice-quokka-7 finished the invoice export"
CAROL_WORDS = "carol-zebra-42 thinks the wifi is slow"


async def count(table: str) -> int:
    rows = await Tortoise.get_connection("default").execute_query_dict(
        f"SELECT COUNT(*) AS n FROM {table}"
    )
    return int(rows[0]["n"])


class Workspace:
    """People in a Lark tenant, acting through the fake's long connection."""

    def __init__(self, fake: FakeLark, app: Application) -> None:
        self.fake = fake
        self.app = app

    async def say(self, user: str, chat_id: str, text: str, **kwargs: object) -> dict[str, object]:
        ack = await self.fake.push(message_payload(user, chat_id, text, **kwargs))  # type: ignore[arg-type]
        await settle(self.app)
        return ack

    async def dm(self, user: str, text: str) -> dict[str, object]:
        return await self.say(user, f"oc_p2p_{user}", text, chat_type="p2p")

    async def click(self, user: str, card: Sent, label: str) -> dict[str, object]:
        ack = await self.fake.push(card_action_payload(user, card, label))
        await settle(self.app)
        return ack

    def last_card_to(self, user: str) -> Sent:
        return [s for s in self.fake.dms_to(user) if s.msg_type == "interactive"][-1]

    async def opt_in(self, user: str) -> None:
        await self.dm(user, "/skill optin")
        await self.click(user, self.last_card_to(user), "Agree")

    async def observe_team(self) -> None:
        await self.say(ADMIN, "oc_team", "/skill admin observe Team")


@pytest.fixture
async def fake() -> AsyncIterator[FakeLark]:
    server = FakeLark()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def app(tmp_path: Path, fake: FakeLark) -> AsyncIterator[Application]:
    application = Application(lark_settings(tmp_path / "data", fake))
    await application.start(serve_web=False)
    try:
        await fake.wait_connected()
        yield application
    finally:
        await application.stop()


@pytest.fixture
def lark(fake: FakeLark, app: Application) -> Workspace:
    return Workspace(fake, app)


async def test_message_from_a_person_who_agreed_by_card_is_stored(lark: Workspace) -> None:
    await lark.observe_team()
    await lark.opt_in(ALICE)
    await lark.say(ALICE, "oc_team", ALICE_WORDS)
    assert await count("observations") == 1


async def test_message_from_a_person_who_did_not_agree_is_not_stored(lark: Workspace) -> None:
    await lark.observe_team()
    await lark.say(CAROL, "oc_team", CAROL_WORDS)
    assert await count("observations") == 0
    assert [b["text"]["content"] for b in lark.last_card_to(CAROL).buttons] == [
        "Agree",
        "No thanks",
    ]


async def test_database_holds_no_plaintext(app: Application, lark: Workspace) -> None:
    await lark.observe_team()
    await lark.opt_in(ALICE)
    await lark.say(ALICE, "oc_team", ALICE_WORDS)
    await lark.say(CAROL, "oc_team", CAROL_WORDS)
    data = b"".join(p.read_bytes() for p in app.settings.data_dir.glob("apprentice.db*"))
    for word in (ALICE_WORDS + " " + CAROL_WORDS).split():
        if len(word) > 6:
            assert word.encode() not in data


async def test_p2p_messages_are_never_stored(lark: Workspace) -> None:
    await lark.observe_team()
    await lark.opt_in(ALICE)
    await lark.dm(ALICE, "alice-secret-dm-narwhal")
    assert await count("observations") == 0
    assert "I don't read direct messages" in lark.fake.dms_to(ALICE)[-1].text


async def test_optin_in_a_group_sends_the_consent_card_by_dm(lark: Workspace) -> None:
    await lark.say(ALICE, "oc_team", "/skill optin")
    card = lark.last_card_to(ALICE)
    assert card.msg_type == "interactive"
    assert "never your direct messages" in card.text
    assert "direct message" in lark.fake.posts_in("oc_team")[-1].text


async def test_clicking_agree_updates_the_card_to_show_the_choice(lark: Workspace) -> None:
    await lark.dm(ALICE, "/skill optin")
    card = lark.last_card_to(ALICE)
    ack = await lark.click(ALICE, card, "Agree")
    assert ack["code"] == 200
    [patched] = lark.fake.patched
    assert patched.message_id == card.message_id
    assert "you agreed" in patched.text and not patched.buttons


async def test_no_thanks_is_recorded_and_shown(lark: Workspace) -> None:
    await lark.dm(CAROL, "/skill optin")
    await lark.click(CAROL, lark.last_card_to(CAROL), "No thanks")
    assert "nothing you write will be kept" in lark.fake.patched[-1].text
    rows = await Tortoise.get_connection("default").execute_query_dict(
        "SELECT action FROM consent_events"
    )
    assert [r["action"] for r in rows] == ["decline"]


async def test_mention_of_the_bot_followed_by_skill_is_the_command(lark: Workspace) -> None:
    await lark.say(ALICE, "oc_team", "@_user_1 skill optin", mentions=[(BOT_OPEN_ID, BOT_NAME)])
    assert lark.last_card_to(ALICE).buttons


async def test_mydata_sends_the_summary_and_the_json_file(lark: Workspace) -> None:
    await lark.observe_team()
    await lark.opt_in(ALICE)
    await lark.say(ALICE, "oc_team", ALICE_WORDS)
    await lark.dm(ALICE, "/skill mydata")
    summary = [s for s in lark.fake.dms_to(ALICE) if "holds about you" in s.text][-1]
    assert "messages kept: 1" in summary.text
    [(name, data)] = lark.fake.files
    assert name == "mydata.json"
    assert [o["text"] for o in json.loads(data)["observations"]] == [ALICE_WORDS]
    assert lark.fake.dms_to(ALICE)[-1].msg_type == "file"


async def test_forget_erases_and_gives_a_receipt(lark: Workspace) -> None:
    await lark.observe_team()
    await lark.opt_in(ALICE)
    await lark.say(ALICE, "oc_team", ALICE_WORDS)
    await lark.dm(ALICE, "/skill forget")
    assert "Erasure receipt" in lark.fake.dms_to(ALICE)[-1].text
    assert lark.app.eraser is not None
    await lark.app.eraser.idle()  # the rows go in the background, after the key
    assert await count("observations") == 0


async def test_admin_observe_posts_a_notice_in_the_chat(lark: Workspace) -> None:
    await lark.observe_team()
    notice = lark.fake.posts_in("oc_team")[0]
    assert "observes #Team" in notice.text and "/skill optin" in notice.text


async def test_admin_revoke_by_mention_erases_the_person(lark: Workspace) -> None:
    await lark.observe_team()
    await lark.opt_in(ALICE)
    await lark.say(ALICE, "oc_team", ALICE_WORDS)
    await lark.say(ADMIN, "oc_team", "/skill admin revoke @_user_1", mentions=[(ALICE, "Alice")])
    assert lark.app.eraser is not None
    await lark.app.eraser.idle()  # the rows go in the background, after the key
    assert await count("observations") == 0
    assert "Erasure receipt" in lark.fake.dms_to(ALICE)[-1].text


async def test_admin_status_reports_the_observed_chat(lark: Workspace) -> None:
    await lark.observe_team()
    await lark.dm(ADMIN, "/skill admin status")
    assert "#Team" in lark.fake.dms_to(ADMIN)[-1].text


async def test_admin_commands_are_refused_to_others(lark: Workspace) -> None:
    await lark.say(CAROL, "oc_team", "/skill admin observe Team")
    assert "admin commands are for workspace admins" in lark.fake.posts_in("oc_team")[-1].text
    assert await count("channels") == 0


async def test_a_recalled_message_is_erased(lark: Workspace) -> None:
    await lark.observe_team()
    await lark.opt_in(ALICE)
    await lark.say(ALICE, "oc_team", ALICE_WORDS, message_id="om_recalled")
    await lark.fake.push(recall_payload("om_recalled", "oc_team"))
    await settle(lark.app)
    assert await count("observations") == 0


async def test_a_message_delivered_twice_is_handled_once(lark: Workspace) -> None:
    for event_id in ("ev-1", "ev-2"):  # Lark may redeliver a message under a new event id
        await lark.say(ALICE, "oc_team", "/skill optin", message_id="om_once", event_id=event_id)
    assert len(lark.fake.dms_to(ALICE)) == 1


async def test_an_event_delivered_twice_is_handled_once(lark: Workspace) -> None:
    for message_id in ("om_a", "om_b"):
        await lark.say(ALICE, "oc_team", "/skill optin", message_id=message_id, event_id="ev-1")
    assert len(lark.fake.dms_to(ALICE)) == 1


async def test_every_event_is_acked(lark: Workspace) -> None:
    await lark.say(CAROL, "oc_team", "hello")
    await lark.say(CAROL, "oc_team", "image", message_type="image", content={"image_key": "k"})
    assert [r["code"] for r in lark.fake.ws_responses] == [200, 200]


async def test_stop_closes_the_connection(app: Application, fake: FakeLark) -> None:
    await app.stop()
    await wait_for(lambda: not fake.connected)
    assert not any(t.name == "lark-long-connection" for t in __import__("threading").enumerate())


async def test_the_client_reconnects_after_the_server_drops_it(lark: Workspace) -> None:
    await lark.fake.drop_connection()
    await lark.fake.wait_connected()
    await lark.dm(ALICE, "/skill optin")
    assert lark.last_card_to(ALICE).buttons
    assert len(lark.fake.calls_to("/callback/ws/endpoint")) == 2
