"""Sending to Lark: tokens, cards, files, chats and errors, with lark-oapi against the fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from adapters.base import SendError
from adapters.lark.adapter import LarkAdapter
from adapters.lark.config import LarkConfig
from bot.events import Event
from bot.outbound import Button, Destination, OutMessage
from bot.outbox import Outbox
from tests.fakes.lark import APP_ID, APP_SECRET, Failure, FakeLark, wait_for

MESSAGES = "/open-apis/im/v1/messages"
SECRET_WORDS = "private-words-that-must-not-leak"


def out(to: Destination, text: str = "hello", **kwargs: object) -> OutMessage:
    return OutMessage(platform="lark", tenant="tenant_acme", to=to, text=text, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def fake() -> AsyncIterator[FakeLark]:
    server = FakeLark()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def running(config: LarkConfig) -> tuple[LarkAdapter, asyncio.Task[None]]:
    adapter = LarkAdapter(config)
    received: list[Event] = []

    async def emit(event: Event) -> None:
        received.append(event)

    task = asyncio.create_task(adapter.run(emit))
    await wait_for(adapter.ready.is_set, timeout=10)
    return adapter, task


@pytest.fixture
async def adapter(fake: FakeLark) -> AsyncIterator[LarkAdapter]:
    config = LarkConfig(
        app_id=APP_ID,
        app_secret=APP_SECRET,
        domain=fake.url,
        mode="webhook",
        encrypt_key="k",
        verification_token="t",
    )
    lark, task = await running(config)
    try:
        yield lark
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await lark.aclose()


async def test_a_dm_goes_to_the_persons_open_id(adapter: LarkAdapter, fake: FakeLark) -> None:
    await adapter.send(out(Destination(dm_user_id="ou_alice")))
    [sent] = fake.sent
    assert (sent.receive_id_type, sent.receive_id) == ("open_id", "ou_alice")


async def test_a_channel_message_goes_to_the_chat_id(adapter: LarkAdapter, fake: FakeLark) -> None:
    ref = await adapter.send(out(Destination(channel_id="oc_team")))
    [sent] = fake.sent
    assert (sent.receive_id_type, sent.receive_id) == ("chat_id", "oc_team")
    assert ref.message_id == sent.message_id and ref.channel_id == "oc_team"


async def test_a_thread_reply_answers_in_the_thread(adapter: LarkAdapter, fake: FakeLark) -> None:
    await adapter.send(out(Destination(channel_id="oc_team", thread_id="om_root")))
    assert fake.sent[0].reply_to == "om_root"
    assert fake.calls_to(f"{MESSAGES}/om_root/reply")[0].body["reply_in_thread"] is True


async def test_bold_is_rendered_as_lark_markdown(adapter: LarkAdapter, fake: FakeLark) -> None:
    await adapter.send(out(Destination(channel_id="oc_team"), "*Apprentice status*"))
    assert fake.sent[0].msg_type == "post" and "**Apprentice status**" in fake.sent[0].text


async def test_buttons_become_an_interactive_card_carrying_their_ids(
    adapter: LarkAdapter, fake: FakeLark
) -> None:
    buttons = (Button("Agree", "consent.agree", '{"p": "observe"}'),)
    await adapter.send(out(Destination(dm_user_id="ou_alice"), buttons=buttons))
    [button] = fake.sent[0].buttons
    assert fake.sent[0].msg_type == "interactive"
    assert button["value"] == {"action_id": "consent.agree", "value": '{"p": "observe"}'}


async def test_a_card_that_cannot_be_updated_is_posted_anew(
    adapter: LarkAdapter, fake: FakeLark
) -> None:
    await adapter.send(out(Destination(dm_user_id="ou_alice"), replace_ref="om_not_a_card"))
    assert len(fake.sent) == 1 and fake.patched == []


async def test_the_token_is_fetched_once_and_reused(adapter: LarkAdapter, fake: FakeLark) -> None:
    for _ in range(3):
        await adapter.send(out(Destination(channel_id="oc_team")))
    assert fake.tokens_issued == 1


async def test_a_stale_token_is_fetched_again(adapter: LarkAdapter, fake: FakeLark) -> None:
    fake.fail_next(MESSAGES, Failure(400, 99991663, "Invalid access token"))
    await adapter.send(out(Destination(channel_id="oc_team")))
    assert fake.tokens_issued == 2 and len(fake.sent) == 1


async def test_a_rate_limit_asks_to_retry_after_lark_s_reset(
    adapter: LarkAdapter, fake: FakeLark
) -> None:
    fake.fail_next(
        MESSAGES,
        Failure(429, 99991400, "request trigger frequency limit", {"x-ogw-ratelimit-reset": "7"}),
    )
    with pytest.raises(SendError) as refused:
        await adapter.send(out(Destination(channel_id="oc_team"), SECRET_WORDS))
    assert refused.value.retry_after == 7
    assert "99991400" in str(refused.value) and SECRET_WORDS not in str(refused.value)


async def test_a_server_error_may_be_retried(adapter: LarkAdapter, fake: FakeLark) -> None:
    fake.fail_next(MESSAGES, Failure(503, 1, "system busy"))
    with pytest.raises(SendError) as refused:
        await adapter.send(out(Destination(channel_id="oc_team")))
    assert refused.value.retry_after is not None


async def test_a_refusal_is_not_retried(adapter: LarkAdapter, fake: FakeLark) -> None:
    fake.fail_next(MESSAGES, Failure(400, 230002, "The bot is not in the chat"))
    with pytest.raises(SendError) as refused:
        await adapter.send(out(Destination(channel_id="oc_gone")))
    assert refused.value.retry_after is None


async def test_the_outbox_retries_a_rate_limited_message(
    adapter: LarkAdapter, fake: FakeLark
) -> None:
    fake.fail_next(MESSAGES, Failure(429, 99991400, "limit", {"x-ogw-ratelimit-reset": "0"}))
    outbox = Outbox()
    outbox.register(adapter)
    assert await outbox.send(out(Destination(channel_id="oc_team"))) is not None
    assert len(fake.calls_to(MESSAGES)) == 2 and len(fake.sent) == 1


async def test_an_attachment_is_uploaded_as_a_file(adapter: LarkAdapter, fake: FakeLark) -> None:
    message = out(
        Destination(dm_user_id="ou_alice"),
        "summary",
        attachment_name="mydata.json",
        attachment='{"a": 1}',
    )
    await adapter.send(message)
    assert fake.files == [("mydata.json", b'{"a": 1}')]
    assert [s.msg_type for s in fake.sent] == ["post", "file"]


async def test_an_attachment_that_cannot_be_uploaded_is_sent_as_text(
    adapter: LarkAdapter, fake: FakeLark
) -> None:
    fake.fail_next("/open-apis/im/v1/files", Failure(400, 234001, "no upload scope"))
    message = out(
        Destination(dm_user_id="ou_alice"),
        "summary",
        attachment_name="mydata.json",
        attachment='{"a": 1}',
    )
    await adapter.send(message)
    assert '{"a": 1}' in fake.sent[-1].text


async def test_find_channel_by_name(adapter: LarkAdapter) -> None:
    found = await adapter.find_channel("tenant_acme", "team")
    assert found is not None and (found.id, found.name) == ("oc_team", "Team")


async def test_find_channel_by_chat_id(adapter: LarkAdapter) -> None:
    found = await adapter.find_channel("tenant_acme", "oc_random")
    assert found is not None and found.name == "Random"


async def test_find_channel_unknown_is_none(adapter: LarkAdapter) -> None:
    assert await adapter.find_channel("tenant_acme", "nowhere") is None
    assert await adapter.find_channel("tenant_acme", "oc_nowhere") is None


async def test_a_wrong_app_secret_says_what_to_set(fake: FakeLark) -> None:
    config = LarkConfig(
        app_id=APP_ID,
        app_secret="wrong",
        domain=fake.url,
        mode="webhook",
        encrypt_key="k",
        verification_token="t",
    )
    lark, task = await running(config)
    try:
        with pytest.raises(SendError, match="LARK_APP_SECRET") as refused:
            await lark.send(out(Destination(channel_id="oc_team")))
        assert refused.value.retry_after is None and "wrong" not in str(refused.value)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
