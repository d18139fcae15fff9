"""Lark, the natural first steps, over the long connection and over webhooks alike: an admin
types `/skill admin observe` in the group itself, people agree by card button or by typing,
`/skill mydata` counts exactly, a revoked person is told by DM. Plus webhook readiness: the
checks answer from the moment the port opens. Real Application and lark-oapi, local fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import pytest
from aiohttp import ClientSession

from adapters.lark.adapter import LarkAdapter
from bot.app import Application
from tests.fakes.lark import (
    BOT_NAME,
    BOT_OPEN_ID,
    ENCRYPT_KEY,
    VERIFICATION_TOKEN,
    FakeLark,
    Sent,
    card_action_payload,
    lark_settings,
    message_payload,
    signed_request,
    url_verification,
    wait_for,
)
from tests.test_lark_longconn import Workspace
from tests.test_lark_webhook import Webhooks, count, fake

__all__ = ["fake"]  # the fixture, shared with tests/test_lark_webhook.py

ALICE, CAROL, ADMIN = "ou_alice", "ou_carol", "ou_admin"
ALICE_WORDS = "alice-quokka-7 finished the invoice export"
CAROL_WORDS = "carol-zebra-42 thinks the wifi is slow"
WEBHOOK = {
    "lark_mode": "webhook",
    "lark_encrypt_key": ENCRYPT_KEY,
    "lark_verification_token": VERIFICATION_TOKEN,
}


class People(Protocol):
    fake: FakeLark

    async def say(self, user: str, chat_id: str, text: str, **kwargs: Any) -> Any: ...

    async def dm(self, user: str, text: str) -> Any: ...


async def click(people: People, user: str, card: Sent, label: str) -> None:
    if isinstance(people, Workspace):
        await people.click(user, card, label)
    else:
        assert isinstance(people, Webhooks)
        await people.post(card_action_payload(user, card, label))


def dms_saying(fake: FakeLark, user: str, words: str) -> list[Sent]:
    return [s for s in fake.dms_to(user) if words in s.text]


@pytest.fixture(params=["long_connection", "webhook"])
async def lark(
    request: pytest.FixtureRequest, tmp_path: Path, fake: FakeLark
) -> AsyncIterator[People]:
    webhook = request.param == "webhook"
    application = Application(
        lark_settings(tmp_path / "data", fake, **(WEBHOOK if webhook else {}))
    )
    await application.start(serve_web=webhook)
    try:
        if webhook:
            adapter = next(a for a in application.adapters if isinstance(a, LarkAdapter))
            await wait_for(adapter.ready.is_set, timeout=10)
            async with ClientSession() as session:
                yield Webhooks(fake, application, session)
        else:
            await fake.wait_connected()
            yield Workspace(fake, application)
    finally:
        await application.stop()


async def test_admin_observe_typed_in_a_group_observes_it_and_posts_the_notice_there(
    lark: People,
) -> None:
    await lark.say(ADMIN, "oc_team", "/skill admin observe")
    notice = [s for s in lark.fake.posts_in("oc_team") if "now observes #Team" in s.text]
    assert notice and "/skill optin" in notice[0].text
    assert await count("channels WHERE channel_id = 'oc_team' AND observed = 1") == 1


async def test_admin_observe_by_mentioning_the_bot_in_the_group_works_too(lark: People) -> None:
    await lark.say(
        ADMIN, "oc_team", "@_user_1 skill admin observe", mentions=[(BOT_OPEN_ID, BOT_NAME)]
    )
    assert [s for s in lark.fake.posts_in("oc_team") if "now observes #Team" in s.text]


async def test_admin_observe_typed_in_a_dm_is_refused(lark: People) -> None:
    await lark.dm(ADMIN, "/skill admin observe")
    assert dms_saying(lark.fake, ADMIN, "never observed")
    assert await count("channels WHERE observed = 1") == 0


async def test_button_and_typed_answers_keep_and_count_exactly_and_revoke_tells_the_person(
    lark: People,
) -> None:
    fake = lark.fake
    await lark.say(ADMIN, "oc_team", "/skill admin observe")
    await lark.dm(ALICE, "/skill optin")
    card = [s for s in fake.dms_to(ALICE) if s.msg_type == "interactive"][-1]
    assert "/skill optin yes" in card.text  # the notice says what to type
    await click(lark, ALICE, card, "Agree")
    await lark.dm(CAROL, "/skill optin")
    await lark.dm(CAROL, "/skill optin yes")
    carols_card = [s for s in fake.dms_to(CAROL) if s.msg_type == "interactive"][-1]
    assert [p for p in fake.patched if p.message_id == carols_card.message_id]  # no buttons left
    assert "you agreed" in fake.patched[-1].text
    assert (
        await count(
            "consent_events WHERE user_id = 'ou_carol' AND mechanism = 'text:consent.agree'"
        )
        == 1
    )
    await lark.say(ALICE, "oc_team", ALICE_WORDS)
    await lark.say(CAROL, "oc_team", CAROL_WORDS)
    await lark.say(CAROL, "oc_team", "@_user_1 help", mentions=[(BOT_OPEN_ID, BOT_NAME)])
    assert [s for s in fake.sent if "recurring work" in s.text]  # answered…
    assert await count("observations") == 2  # …and not kept
    await lark.dm(CAROL, "/skill mydata")
    assert dms_saying(fake, CAROL, "messages kept: 1 ")
    await lark.say(ADMIN, "oc_team", "/skill admin revoke @_user_1", mentions=[(ALICE, "Alice")])
    receipt = dms_saying(fake, ALICE, "An admin of this workspace revoked")
    assert receipt and "messages deleted: 1" in receipt[0].text
    assert await count("observations") == 1


# -- webhook readiness ---------------------------------------------------------------------


async def test_webhook_checks_answer_from_the_moment_the_port_opens(
    tmp_path: Path, fake: FakeLark
) -> None:
    fake.bot_info_gate = asyncio.Event()  # the adapter cannot finish starting until it is set
    application = Application(lark_settings(tmp_path / "data", fake, **WEBHOOK))
    await application.start()
    try:
        adapter = next(a for a in application.adapters if isinstance(a, LarkAdapter))
        async with ClientSession() as session:
            hooks = Webhooks(fake, application, session)
            assert not adapter.ready.is_set()
            body, headers = signed_request(url_verification("c-early"))
            assert await hooks.post_raw(body, headers) == (200, {"challenge": "c-early"})
            forged, headers = signed_request(message_payload(ALICE, "oc_p2p_x", "/skill help"))
            headers["X-Lark-Signature"] = "0" * 64
            assert (await hooks.post_raw(forged, headers))[0] == 401
            status, _ = await hooks.post(
                message_payload(ALICE, "oc_p2p_ou_alice", "/skill help", chat_type="p2p")
            )
            assert status == 200 and not adapter.ready.is_set()
            assert fake.dms_to(ALICE) == []  # held, not lost: answered once the bot is ready
            fake.bot_info_gate.set()
            await wait_for(lambda: bool(dms_saying(fake, ALICE, "recurring work")), timeout=10)
    finally:
        await application.stop()
