"""Slack, the natural first steps: an admin types `/skill admin observe` in the channel itself,
people agree by button or by typing, `/skill mydata` counts exactly, a revoked person is told.
The real Application, Bolt and slack_sdk (signed HTTP and Socket Mode) against the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession

from bot.consent.notices import Purpose, Terms, notice_version
from tests.fakes.slack import (
    ADMIN,
    ALICE,
    BOT_USER_ID,
    CAROL,
    TEAM_CHANNEL,
    FakeSlack,
    HttpTransport,
    SignedPoster,
    SocketTransport,
    Workspace,
    event_callback,
    message,
    running_app,
    slack_settings,
)
from tests.test_slack_http import count, fake, wait_count

__all__ = ["fake"]  # the fixture, shared with tests/test_slack_http.py

ALICE_WORDS = "alice-quokka-7 finished the invoice export"
CAROL_WORDS = "carol-zebra-42 修好了发票导出"


@pytest.fixture(params=["http", "socket_mode"])
async def slack(
    request: pytest.FixtureRequest, tmp_path: Path, fake: FakeSlack
) -> AsyncIterator[Workspace]:
    socket_mode = request.param == "socket_mode"
    settings = slack_settings(tmp_path / "data", fake, socket_mode=socket_mode)
    async with running_app(settings) as app:
        if socket_mode:
            await fake.wait_connected()
            yield Workspace(fake, SocketTransport(fake))
            return
        url = f"http://127.0.0.1:{app.settings.web_port}/slack/events"
        async with ClientSession() as session:
            yield Workspace(fake, HttpTransport(SignedPoster(session, url)))


async def dm_to(fake: FakeSlack, user: str, containing: str) -> str:
    posted = await fake.wait_for(
        lambda: [p for p in fake.messages_in(fake.dm_channel(user)) if containing in p.text],
        what=f"a DM to {user} saying {containing!r}",
    )
    return posted[-1].text


async def response_saying(fake: FakeSlack, containing: str) -> None:
    await fake.wait_for(
        lambda: [r for r in fake.responses if containing in str(r.get("text"))],
        what=f"a command answer saying {containing!r}",
    )


async def observe_here(slack: Workspace) -> None:
    await slack.command(ADMIN, "admin observe", TEAM_CHANNEL, "team")
    await slack.fake.wait_for(
        lambda: [p for p in slack.fake.messages_in(TEAM_CHANNEL) if "now observes #team" in p.text],
        what="the notice in #team",
    )
    await response_saying(slack.fake, "is now observed")  # recorded after the notice went out


async def test_admin_observe_typed_in_a_channel_observes_that_channel(
    slack: Workspace, fake: FakeSlack
) -> None:
    await observe_here(slack)
    notice = [p for p in fake.messages_in(TEAM_CHANNEL) if "now observes" in p.text][0]
    assert "/skill optin" in notice.text
    assert await count("channels", "channel_id = ? AND observed = 1", TEAM_CHANNEL) == 1


async def test_admin_observe_typed_in_a_dm_is_refused_and_says_what_to_do(
    slack: Workspace, fake: FakeSlack
) -> None:
    await slack.command(ADMIN, "admin observe", fake.dm_channel(ADMIN), "directmessage")
    await dm_to(fake, ADMIN, "never observed")
    assert await count("channels", "observed = 1") == 0


async def test_admin_unobserve_typed_in_the_channel_stops_observing_it(
    slack: Workspace, fake: FakeSlack
) -> None:
    await observe_here(slack)
    await slack.command(ADMIN, "admin unobserve", TEAM_CHANNEL, "team")
    await fake.wait_for(
        lambda: [p for p in fake.messages_in(TEAM_CHANNEL) if "no longer observes" in p.text],
        what="the notice that observing stopped",
    )
    assert await count("channels", "observed = 1") == 0


async def test_button_and_typed_answers_keep_and_count_exactly_and_revoke_tells_the_person(
    slack: Workspace, fake: FakeSlack
) -> None:
    await observe_here(slack)
    await slack.opt_in(ALICE)  # the Agree button
    await slack.command(CAROL, "optin")  # Carol's Slack is in Chinese: she replies 同意
    notice = await dm_to(fake, CAROL, "同意")
    assert "/skill optin yes" in notice
    await slack.transport.event(
        event_callback(message(CAROL, fake.dm_channel(CAROL), "同意", channel_type="im"))
    )
    await wait_count(
        "consent_events", 1, "user_id = ? AND mechanism = ?", CAROL, "text:consent.agree"
    )
    await slack.say(ALICE, TEAM_CHANNEL, ALICE_WORDS)
    await slack.say(CAROL, TEAM_CHANNEL, CAROL_WORDS)
    await slack.say(CAROL, TEAM_CHANNEL, f"<@{BOT_USER_ID}> help")  # to the bot: not kept
    await fake.wait_for(
        lambda: [p for p in fake.messages_in(TEAM_CHANNEL) if "recurring work" in p.text],
        what="the answer to @Apprentice help",
    )
    await wait_count("observations", 2)
    await slack.command(CAROL, "mydata")
    assert "messages kept: 1 " in await dm_to(fake, CAROL, "messages kept")
    await slack.command(ADMIN, f"admin revoke <@{ALICE}|alice>")
    receipt = await dm_to(fake, ALICE, "An admin of this workspace revoked")
    assert "messages deleted: 1" in receipt
    await wait_count("observations", 1)


async def test_typed_answer_records_the_notice_version_and_language_shown(
    slack: Workspace, fake: FakeSlack
) -> None:
    await slack.command(CAROL, "optin")
    await dm_to(fake, CAROL, "同意")
    await slack.command(CAROL, "optin yes")
    await dm_to(fake, CAROL, "Thank you")
    notice = [p for p in fake.messages_in(fake.dm_channel(CAROL)) if "Thank you" in p.text][0]
    assert notice.updates == 1 and not notice.buttons  # the notice itself now shows the answer
    where = "user_id = ? AND action = ? AND mechanism = ? AND language = ? AND notice_version = ?"
    version = notice_version(Purpose.OBSERVE, Terms(retention_days=90))  # this install's
    assert await count("consent_events", where, CAROL, "grant", "text:consent.agree", "zh", version)
