"""Lark over webhooks: encrypted, signed posts to /lark/events of the real Application."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from tortoise import Tortoise

from adapters.lark.adapter import LarkAdapter
from bot.app import Application
from tests.fakes.lark import (
    ENCRYPT_KEY,
    VERIFICATION_TOKEN,
    FakeLark,
    Sent,
    card_action_payload,
    lark_settings,
    message_payload,
    recall_payload,
    settle,
    signed_request,
    url_verification,
    wait_for,
)

ALICE, CAROL, ADMIN = "ou_alice", "ou_carol", "ou_admin"
ALICE_WORDS = "alice-quokka-7 finished the invoice export"


async def count(table: str) -> int:
    rows = await Tortoise.get_connection("default").execute_query_dict(
        f"SELECT COUNT(*) AS n FROM {table}"
    )
    return int(rows[0]["n"])


class Webhooks:
    """Lark's side of webhook mode: signs and posts events to the bot's /lark/events."""

    def __init__(self, fake: FakeLark, app: Application, session: ClientSession) -> None:
        self.fake = fake
        self.app = app
        self.session = session
        self.url = f"http://{app.settings.web_host}:{app.settings.web_port}/lark/events"

    async def post(self, payload: dict[str, Any], **signing: Any) -> tuple[int, dict[str, Any]]:
        body, headers = signed_request(payload, **signing)
        return await self.post_raw(body, headers)

    async def post_raw(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        async with self.session.post(self.url, data=body, headers=headers) as response:
            answer = await response.json()
        await settle(self.app)
        return response.status, answer

    async def say(self, user: str, chat_id: str, text: str, **kwargs: Any) -> int:
        status, _ = await self.post(message_payload(user, chat_id, text, **kwargs))
        return status

    async def dm(self, user: str, text: str) -> int:
        return await self.say(user, f"oc_p2p_{user}", text, chat_type="p2p")

    def last_card_to(self, user: str) -> Sent:
        return [s for s in self.fake.dms_to(user) if s.msg_type == "interactive"][-1]

    async def opt_in(self, user: str) -> None:
        await self.dm(user, "/skill optin")
        await self.post(card_action_payload(user, self.last_card_to(user), "Agree"))


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
    settings = lark_settings(
        tmp_path / "data",
        fake,
        lark_mode="webhook",
        lark_encrypt_key=ENCRYPT_KEY,
        lark_verification_token=VERIFICATION_TOKEN,
    )
    application = Application(settings)
    await application.start()
    try:
        adapter = next(a for a in application.adapters if isinstance(a, LarkAdapter))
        await wait_for(adapter.ready.is_set, timeout=10)
        yield application
    finally:
        await application.stop()


@pytest.fixture
async def lark(fake: FakeLark, app: Application) -> AsyncIterator[Webhooks]:
    async with ClientSession() as session:
        yield Webhooks(fake, app, session)


async def test_url_verification_is_answered_with_the_challenge(lark: Webhooks) -> None:
    body = json.dumps(
        {"encrypt": json.loads(signed_request(url_verification("c-42"))[0])["encrypt"]}
    ).encode()
    status, answer = await lark.post_raw(body, {"Content-Type": "application/json"})
    assert (status, answer) == (200, {"challenge": "c-42"})


async def test_message_from_a_person_who_agreed_by_card_is_stored(lark: Webhooks) -> None:
    await lark.say(ADMIN, "oc_team", "/skill admin observe Team")
    await lark.opt_in(ALICE)
    assert await lark.say(ALICE, "oc_team", ALICE_WORDS) == 200
    assert await count("observations") == 1


async def test_message_from_a_person_who_did_not_agree_is_not_stored(lark: Webhooks) -> None:
    await lark.say(ADMIN, "oc_team", "/skill admin observe Team")
    await lark.say(CAROL, "oc_team", "carol-zebra-42 thinks the wifi is slow")
    assert await count("observations") == 0
    assert lark.last_card_to(CAROL).buttons


async def test_p2p_messages_are_never_stored(lark: Webhooks) -> None:
    await lark.say(ADMIN, "oc_team", "/skill admin observe Team")
    await lark.opt_in(ALICE)
    await lark.dm(ALICE, "alice-secret-dm-narwhal")
    assert await count("observations") == 0


async def test_card_click_is_recorded_and_the_card_updated(lark: Webhooks) -> None:
    await lark.dm(ALICE, "/skill optin")
    card = lark.last_card_to(ALICE)
    status, answer = await lark.post(card_action_payload(ALICE, card, "Agree"))
    assert (status, answer) == (200, {})
    assert lark.fake.patched[-1].message_id == card.message_id
    assert "you agreed" in lark.fake.patched[-1].text


async def test_mydata_and_forget_work(lark: Webhooks) -> None:
    await lark.say(ADMIN, "oc_team", "/skill admin observe Team")
    await lark.opt_in(ALICE)
    await lark.say(ALICE, "oc_team", ALICE_WORDS)
    await lark.dm(ALICE, "/skill mydata")
    assert json.loads(lark.fake.files[-1][1])["observations"][0]["text"] == ALICE_WORDS
    await lark.dm(ALICE, "/skill forget")
    assert "Erasure receipt" in lark.fake.dms_to(ALICE)[-1].text
    assert lark.app.eraser is not None
    await lark.app.eraser.idle()  # the rows go in the background, after the key
    assert await count("observations") == 0


async def test_a_recalled_message_is_erased(lark: Webhooks) -> None:
    await lark.say(ADMIN, "oc_team", "/skill admin observe Team")
    await lark.opt_in(ALICE)
    await lark.say(ALICE, "oc_team", ALICE_WORDS, message_id="om_recalled")
    await lark.post(recall_payload("om_recalled", "oc_team"))
    assert await count("observations") == 0


async def test_a_repeated_event_is_processed_once(lark: Webhooks) -> None:
    payload = message_payload(ALICE, "oc_team", "/skill optin", event_id="ev-repeated")
    for _ in range(3):  # Lark retries after 15 s, 5 min, 1 h…
        status, _ = await lark.post(payload)
        assert status == 200
    assert len(lark.fake.dms_to(ALICE)) == 1


async def test_a_tampered_signature_is_refused_and_changes_nothing(lark: Webhooks) -> None:
    body, headers = signed_request(message_payload(ALICE, "oc_team", "/skill optin"))
    headers["X-Lark-Signature"] = "0" * 64
    status, _ = await lark.post_raw(body, headers)
    assert status == 401
    assert lark.fake.sent == []


async def test_a_tampered_body_is_refused(lark: Webhooks) -> None:
    body, headers = signed_request(message_payload(ALICE, "oc_team", "/skill optin"))
    _, other_headers = signed_request(message_payload(CAROL, "oc_team", "/skill optin"))
    status, _ = await lark.post_raw(
        body, {**headers, "X-Lark-Signature": other_headers["X-Lark-Signature"]}
    )
    assert status == 401
    assert lark.fake.sent == []


async def test_a_wrong_verification_token_is_refused_and_changes_nothing(lark: Webhooks) -> None:
    await lark.say(ADMIN, "oc_team", "/skill admin observe Team")
    sent_before = len(lark.fake.sent)
    payload = message_payload(ADMIN, "oc_team", "/skill admin unobserve Team", token="forged")
    status, _ = await lark.post(payload)
    assert status == 401
    assert len(lark.fake.sent) == sent_before
    assert await count("channels WHERE observed = 1") == 1


async def test_an_old_timestamp_is_refused_and_changes_nothing(lark: Webhooks) -> None:
    status, _ = await lark.post(
        message_payload(ALICE, "oc_team", "/skill optin"), timestamp=int(time.time()) - 3600
    )
    assert status == 401
    assert lark.fake.sent == []


async def test_a_body_encrypted_with_another_key_is_refused(lark: Webhooks) -> None:
    status, _ = await lark.post(message_payload(ALICE, "oc_team", "/skill optin"), key="other")
    assert status in (400, 401)
    assert lark.fake.sent == []


async def test_an_unencrypted_body_is_refused(lark: Webhooks) -> None:
    body = json.dumps(message_payload(ALICE, "oc_team", "/skill optin")).encode()
    status, _ = await lark.post_raw(body, {"Content-Type": "application/json"})
    assert status == 400
    assert lark.fake.sent == []


async def test_events_the_bot_does_not_read_are_acked_and_ignored(lark: Webhooks) -> None:
    payload = message_payload(ALICE, "oc_team", "hi")
    payload["header"]["event_type"] = "im.chat.member.user.added_v1"
    status, _ = await lark.post(payload)
    assert status == 200
    assert lark.fake.sent == []
