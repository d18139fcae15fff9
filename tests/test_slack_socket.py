"""Slack over Socket Mode: the same flows, as envelopes on the fake's websocket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession
from tortoise import Tortoise

from bot.app import Application
from tests.fakes.slack import (
    ALICE,
    APP_TOKEN,
    BOT_USER_ID,
    CAROL,
    TEAM_CHANNEL,
    FakeSlack,
    SocketTransport,
    Workspace,
    event_callback,
    message,
    running_app,
    running_fake,
    slack_settings,
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with running_fake() as fake:
        yield fake


@pytest.fixture
async def slack_app(tmp_path: Path, fake: FakeSlack) -> AsyncIterator[Application]:
    async with running_app(slack_settings(tmp_path / "data", fake, socket_mode=True)) as app:
        await fake.wait_connected()
        yield app


@pytest.fixture
def slack(fake: FakeSlack, slack_app: Application) -> Workspace:
    return Workspace(fake, SocketTransport(fake))


async def count(table: str, where: str = "1=1", *params: object) -> int:
    connection = Tortoise.get_connection("default")
    _, rows = await connection.execute_query(
        f"SELECT COUNT(*) AS n FROM {table} WHERE {where}", list(params)
    )
    return int(rows[0][0] if not isinstance(rows[0], dict) else rows[0]["n"])


async def wait_count(table: str, expected: int) -> None:
    deadline = time.monotonic() + 30  # a bound for a broken build, not a speed target
    while await count(table) != expected:
        assert time.monotonic() < deadline, f"{table} never had {expected} rows"
        await asyncio.sleep(0.02)


async def answered_in_thread(slack: Workspace, fake: FakeSlack, user: str) -> None:
    """A sentinel: `user` asks for help in a thread and gets the answer there."""
    thread = "1700000000.999999"
    await slack.say(user, TEAM_CHANNEL, f"<@{BOT_USER_ID}> skill help", thread_ts=thread)
    await fake.wait_for(
        lambda: [p for p in fake.messages_in(TEAM_CHANNEL) if p.thread_ts == thread],
        what="the answer in the thread",
    )


async def test_socket_mode_connects_with_the_app_token(slack: Workspace, fake: FakeSlack) -> None:
    opened = fake.calls_to("apps.connections.open")
    assert opened and {call.token for call in opened} == {APP_TOKEN}
    assert fake.socket_connections == 1


async def test_http_route_is_not_mounted_in_socket_mode(slack_app: Application) -> None:
    url = f"http://127.0.0.1:{slack_app.settings.web_port}/slack/events"
    async with ClientSession() as session, session.post(url, data=b"{}") as response:
        assert response.status == 404


async def test_skill_optin_is_acked_in_3_seconds_and_dms_agree_and_no_thanks(
    slack: Workspace,
) -> None:
    ack = await slack.command(ALICE, "optin")
    assert ack.seconds < 3
    dm = await slack.consent_dm(ALICE)
    assert [b["text"]["text"] for b in dm.buttons] == ["Agree", "No thanks"]


async def test_clicking_agree_records_the_grant(slack: Workspace) -> None:
    dm = await slack.opt_in(ALICE)
    assert "Thank you" in dm.shown_text and not dm.buttons
    assert await count("consent_events", "user_id = ? AND action = 'grant'", ALICE) == 1


async def test_only_the_consenting_authors_messages_are_stored(slack: Workspace) -> None:
    await slack.observe(TEAM_CHANNEL, "team")
    await slack.opt_in(ALICE)
    await slack.say(ALICE, TEAM_CHANNEL, "alice writes the weekly report")
    await slack.say(CAROL, TEAM_CHANNEL, "carol has not agreed")
    await slack.consent_dm(CAROL)
    await wait_count("observations", 1)
    assert await count("observations") == 1


async def test_the_same_event_delivered_three_times_is_processed_once(
    slack: Workspace, fake: FakeSlack
) -> None:
    event = event_callback(message(ALICE, TEAM_CHANNEL, f"<@{BOT_USER_ID}> skill help"))
    for attempt in range(3):
        await slack.transport.event(event, retry=attempt)
    await answered_in_thread(slack, fake, ALICE)  # her next event, handled after those
    assert len([p for p in fake.messages_in(TEAM_CHANNEL) if p.thread_ts is None]) == 1


async def test_a_disconnect_envelope_makes_the_client_reconnect(
    slack: Workspace, fake: FakeSlack
) -> None:
    await fake.ask_to_reconnect()
    await fake.wait_for(lambda: fake.socket_connections == 2, what="a second connection")
    dm_before = len(fake.posted)
    await slack.command(ALICE, "optin")
    await fake.wait_for(lambda: len(fake.posted) > dm_before, what="the DM after reconnecting")
