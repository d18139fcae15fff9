"""Sending through slack_sdk: DMs, Block Kit, updates, files, and Slack's refusals."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from adapters.base import SendError
from adapters.slack.adapter import SlackAdapter
from bot.events import Event
from bot.outbound import Button, ButtonStyle, Destination, OutMessage
from tests.fakes.slack import (
    ALICE,
    RANDOM_CHANNEL,
    SECRET_CHANNEL,
    TEAM_CHANNEL,
    TEAM_ID,
    FakeSlack,
    running_fake,
    slack_settings,
)

BUTTONS = (
    Button("Agree", "consent.agree", '{"p": "observe"}', ButtonStyle.PRIMARY),
    Button("No thanks", "consent.decline", '{"p": "observe"}'),
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with running_fake() as fake:
        yield fake


@pytest.fixture
def adapter(fake: FakeSlack, tmp_path: Path) -> SlackAdapter:
    return SlackAdapter(slack_settings(tmp_path / "data", fake))


def out(to: Destination, text: str = "hello", **fields: object) -> OutMessage:
    return OutMessage(platform="slack", tenant=TEAM_ID, to=to, text=text, **fields)  # type: ignore[arg-type]


TO_ALICE = Destination(dm_user_id=ALICE)


async def test_a_dm_opens_the_conversation_once(adapter: SlackAdapter, fake: FakeSlack) -> None:
    first = await adapter.send(out(TO_ALICE))
    second = await adapter.send(out(TO_ALICE))
    assert len(fake.calls_to("conversations.open")) == 1
    assert first.channel_id == second.channel_id == fake.dm_channel(ALICE)
    assert first.message_id == f"{fake.dm_channel(ALICE)}:{fake.posted[0].ts}"


async def test_buttons_are_posted_as_block_kit(adapter: SlackAdapter, fake: FakeSlack) -> None:
    await adapter.send(out(TO_ALICE, "*Notice*", buttons=BUTTONS))
    posted = fake.posted[0]
    assert posted.text == "*Notice*"  # the notification fallback
    assert [(b["action_id"], b["value"]) for b in posted.buttons] == [
        ("consent.agree", '{"p": "observe"}'),
        ("consent.decline", '{"p": "observe"}'),
    ]


async def test_replacing_updates_in_place_and_removes_the_buttons(
    adapter: SlackAdapter, fake: FakeSlack
) -> None:
    sent = await adapter.send(out(TO_ALICE, "*Notice*", buttons=BUTTONS))
    again = await adapter.send(out(TO_ALICE, "✅ Thank you", replace_ref=sent.message_id))
    assert again.message_id == sent.message_id and len(fake.posted) == 1
    assert fake.posted[0].shown_text == "✅ Thank you" and not fake.posted[0].buttons


async def test_replacing_a_message_that_is_gone_posts_it_anew(
    adapter: SlackAdapter, fake: FakeSlack
) -> None:
    await adapter.send(out(TO_ALICE, "✅ Thank you", replace_ref="D0ALICE:1.000001"))
    assert [p.text for p in fake.posted] == ["✅ Thank you"]


async def test_a_thread_destination_posts_in_the_thread(
    adapter: SlackAdapter, fake: FakeSlack
) -> None:
    await adapter.send(out(Destination(channel_id=TEAM_CHANNEL, thread_id="1700000000.000100")))
    assert fake.posted[0].thread_ts == "1700000000.000100"


async def test_a_429_becomes_a_send_error_with_retry_after(
    adapter: SlackAdapter, fake: FakeSlack
) -> None:
    fake.rate_limit("chat.postMessage", retry_after=7)
    with pytest.raises(SendError) as refused:
        await adapter.send(out(Destination(channel_id=TEAM_CHANNEL), "private words"))
    assert refused.value.retry_after == 7
    assert "private words" not in str(refused.value)


async def test_a_server_error_may_be_retried(adapter: SlackAdapter, fake: FakeSlack) -> None:
    fake.fail("chat.postMessage", "internal_error", status=500)
    with pytest.raises(SendError) as refused:
        await adapter.send(out(Destination(channel_id=TEAM_CHANNEL)))
    assert refused.value.retry_after is not None


async def test_a_refusal_is_not_retried_and_names_slacks_error(
    adapter: SlackAdapter, fake: FakeSlack
) -> None:
    fake.fail("chat.postMessage", "is_archived")
    with pytest.raises(SendError, match="is_archived") as refused:
        await adapter.send(out(Destination(channel_id=TEAM_CHANNEL)))
    assert refused.value.retry_after is None


async def test_posting_in_a_public_channel_the_bot_is_not_in_joins_it(
    adapter: SlackAdapter, fake: FakeSlack
) -> None:
    await adapter.send(out(Destination(channel_id=RANDOM_CHANNEL), "notice"))
    assert [c.params["channel"] for c in fake.calls_to("conversations.join")] == [RANDOM_CHANNEL]
    assert fake.messages_in(RANDOM_CHANNEL)[0].text == "notice"


async def test_an_attachment_is_uploaded_as_a_file(adapter: SlackAdapter, fake: FakeSlack) -> None:
    content = json.dumps({"observations": []})
    await adapter.send(
        out(TO_ALICE, "Your data", attachment_name="mydata.json", attachment=content)
    )
    assert fake.shared_files[0]["title"] == "mydata.json"
    assert fake.shared_files[0]["content"] == content.encode()


async def test_an_attachment_that_cannot_be_uploaded_is_shown_inline(
    adapter: SlackAdapter, fake: FakeSlack
) -> None:
    fake.fail("files.getUploadURLExternal", "missing_scope")
    await adapter.send(out(TO_ALICE, "Your data", attachment_name="mydata.json", attachment="{}"))
    assert [p.text for p in fake.posted] == ["Your data", "*mydata.json*\n```{}```"]


async def test_find_channel_by_id_and_by_name(adapter: SlackAdapter) -> None:
    by_id = await adapter.find_channel(TEAM_ID, TEAM_CHANNEL)
    by_name = await adapter.find_channel(TEAM_ID, "Team")
    assert by_id is not None and (by_id.id, by_id.name) == (TEAM_CHANNEL, "team")
    assert by_name == by_id


async def test_find_channel_does_not_see_private_channels_it_is_not_in(
    adapter: SlackAdapter,
) -> None:
    assert await adapter.find_channel(TEAM_ID, SECRET_CHANNEL) is None
    assert await adapter.find_channel(TEAM_ID, "secret") is None
    assert await adapter.find_channel(TEAM_ID, "no-such-channel") is None


async def test_find_channel_waits_out_a_short_rate_limit(
    adapter: SlackAdapter, fake: FakeSlack
) -> None:
    fake.rate_limit("conversations.info", retry_after=1)
    found = await adapter.find_channel(TEAM_ID, TEAM_CHANNEL)
    assert found is not None and len(fake.calls_to("conversations.info")) == 2


async def token_rejection(
    adapter: SlackAdapter, fake: FakeSlack
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run the adapter until it logs that Slack rejected a token; that entry and all logs."""

    async def emit(event: Event) -> None:
        return None

    with capture_logs() as logs:
        running = asyncio.create_task(adapter.run(emit))
        await fake.wait_for(
            lambda: [e for e in logs if e["event"] == "slack.token_rejected"], what="the log"
        )
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    return next(e for e in logs if e["event"] == "slack.token_rejected"), logs


async def test_a_rejected_bot_token_is_logged_with_what_to_set(
    fake: FakeSlack, tmp_path: Path
) -> None:
    settings = slack_settings(tmp_path / "data", fake).model_copy(
        update={"slack_bot_token": SecretStr("xoxb-revoked")}
    )
    rejected, logs = await token_rejection(SlackAdapter(settings), fake)
    assert rejected["error"] == "invalid_auth" and "SLACK_BOT_TOKEN" in rejected["fix"]
    assert "xoxb-revoked" not in json.dumps(logs, default=str)


async def test_a_rejected_app_token_is_logged_with_what_to_set(
    fake: FakeSlack, tmp_path: Path
) -> None:
    settings = slack_settings(tmp_path / "data", fake, socket_mode=True).model_copy(
        update={"slack_app_token": SecretStr("xapp-1-wrong")}
    )
    rejected, logs = await token_rejection(SlackAdapter(settings), fake)
    assert "SLACK_APP_TOKEN" in rejected["fix"] and "xapp-" in rejected["fix"]
    assert fake.socket_connections == 0
