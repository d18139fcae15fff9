"""The "my data" page: what is held, the JSON copy, and stopping or erasing in one click
and a confirmation, each done as the chat command does it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession

from bot.app import Application
from bot.storage.models import ConsentEvent, Observation, Person, WebLink, WebSession
from tests.conftest import ConsoleClient
from tests.web_helpers import browser_session, csrf_of, mydata_link, redeem

ALICE_WORDS = "Shipped the zebra-crossing migration for Falkenstein"


@pytest.fixture
async def alice(app: Application, console: ConsoleClient) -> AsyncIterator[ClientSession]:
    """alice took part in #team, then signed in to her page with the /skill mydata link."""
    await console.say("admin", "team", "/skill admin observe #team")
    await console.opt_in("alice")
    await console.say("alice", "team", ALICE_WORDS)
    await console.opt_in("bob")
    await console.say("bob", "team", "bob's own words stay bob's")
    async with browser_session() as session:
        assert (await redeem(session, await mydata_link(console, "alice")))[0] == 303
        yield session


async def get(session: ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url, allow_redirects=False) as r:
        return r.status, await r.text()


async def test_the_page_shows_counts_consents_and_the_notice_but_not_the_words(
    console: ConsoleClient, alice: ClientSession
) -> None:
    status, page = await get(alice, console.base + "/mydata")
    assert status == 200
    grant = await ConsentEvent.get(user_id="alice", action="grant")
    assert "What Apprentice holds about alice" in page
    assert "<td>#team</td>" in page and grant.notice_sha256 in page
    assert "The notice you agreed to" in page  # its words hash to what was recorded
    assert ALICE_WORDS not in page and "bob" not in page


async def test_the_download_is_the_persons_whole_json_copy(
    console: ConsoleClient, alice: ClientSession
) -> None:
    async with alice.get(console.base + "/mydata/export.json") as r:
        assert r.status == 200
        assert "attachment" in r.headers["Content-Disposition"]
        body = json.loads(await r.text())
    assert body["user_id"] == "alice"
    assert [o["text"] for o in body["observations"]] == [ALICE_WORDS]
    assert "bob" not in json.dumps(body)


async def test_withdrawing_needs_a_confirmation_then_stops_at_once(
    console: ConsoleClient, alice: ClientSession
) -> None:
    status, confirm = await get(alice, console.base + "/mydata/withdraw")
    assert status == 200 and "Stop taking part?" in confirm
    assert not await ConsentEvent.exists(user_id="alice", action="withdraw")

    async with alice.post(
        console.base + "/mydata/withdraw",
        data={"csrf": csrf_of(confirm), "confirm": "withdraw"},
        allow_redirects=False,
    ) as r:
        assert r.status == 303 and r.headers["Location"] == "/mydata?done=withdrawn"
    withdrawal = await ConsentEvent.get(user_id="alice", action="withdraw")
    assert withdrawal.mechanism == "command:optout"
    await console.say("alice", "team", "written after stopping")
    assert await Observation.filter(person__user_id="alice").count() == 1
    status, page = await get(alice, console.base + "/mydata?done=withdrawn")
    assert "Stopped" in page and "Consent in force: none" in page


async def test_erasing_needs_a_confirmation_then_deletes_everything_and_signs_out(
    console: ConsoleClient, alice: ClientSession
) -> None:
    status, confirm = await get(alice, console.base + "/mydata/erase")
    assert status == 200 and "Erase everything held about you?" in confirm
    assert await Person.exists(user_id="alice")

    async with alice.post(
        console.base + "/mydata/erase", data={"csrf": csrf_of(confirm), "confirm": "erase"}
    ) as r:
        assert r.status == 200 and "Everything is erased" in await r.text()
    assert not await Person.exists(user_id="alice")
    assert await Person.exists(user_id="bob")
    assert not await WebSession.exists(user_id="alice")
    assert (await get(alice, console.base + "/mydata"))[0] == 303
    async with console.session.get(
        console.base + "/api/console/channels/dm:alice/messages?user=alice"
    ) as r:
        texts = [m["text"] for m in (await r.json())["messages"]]
    assert any("Erasure receipt" in t for t in texts)


async def test_forget_in_chat_also_ends_the_persons_web_session(
    console: ConsoleClient, alice: ClientSession
) -> None:
    unused = await mydata_link(console, "alice")
    await console.say("alice", "dm:alice", "/skill forget")
    assert (await get(alice, console.base + "/mydata"))[0] == 303
    assert not await WebSession.exists(user_id="alice")
    assert not await WebLink.exists(user_id="alice")  # nor an unused link naming her
    async with browser_session() as other:
        status, text = await get(other, unused)
        assert status == 403 and "not valid" in text


async def test_an_admin_revoke_in_chat_also_ends_the_persons_web_session(
    console: ConsoleClient, alice: ClientSession
) -> None:
    assert (await get(alice, console.base + "/mydata"))[0] == 200
    await console.say("admin", "team", "/skill admin revoke @alice")
    assert (await get(alice, console.base + "/mydata"))[0] == 303
    assert not await WebSession.exists(user_id="alice")


async def test_a_cross_site_erase_is_refused(console: ConsoleClient, alice: ClientSession) -> None:
    _, confirm = await get(alice, console.base + "/mydata/erase")
    async with alice.post(
        console.base + "/mydata/erase",
        data={"csrf": csrf_of(confirm), "confirm": "erase"},
        headers={"Origin": "http://127.0.0.1:9"},
    ) as r:
        assert r.status == 403
    async with alice.post(console.base + "/mydata/erase", data={"confirm": "erase"}) as r:
        assert r.status == 403
    async with alice.post(console.base + "/mydata/erase", data={"csrf": csrf_of(confirm)}) as r:
        assert r.status == 400  # the confirmation itself is missing
    assert await Person.exists(user_id="alice")
