"""Bad input gets a clear answer and changes nothing it should not."""

from __future__ import annotations

import asyncio
import json

from bot.events import MAX_TEXT_CHARS
from tests.conftest import ConsoleClient
from tests.test_end_to_end import count


async def test_bad_json_is_a_400_that_says_send_json(console: ConsoleClient) -> None:
    status, body = await console.raw_post("/api/console/messages", "{not json")
    assert status == 400 and "JSON" in body["error"]


async def test_missing_field_names_the_field(console: ConsoleClient) -> None:
    status, body = await console.raw_post("/api/console/messages", '{"user": "alice"}')
    assert status == 400 and '"channel"' in body["error"]


async def test_writing_in_someone_elses_dm_is_refused(console: ConsoleClient) -> None:
    status, body = await console.raw_post(
        "/api/console/messages", '{"user": "carol", "channel": "dm:alice", "text": "hi"}'
    )
    assert status == 400 and "dm:carol" in body["error"]


async def test_huge_message_is_refused_and_not_stored(console: ConsoleClient) -> None:
    await console.say("admin", "team", "/skill admin observe #team")
    await console.opt_in("alice")
    payload = json.dumps({"user": "alice", "channel": "team", "text": "x" * (MAX_TEXT_CHARS + 1)})
    status, body = await console.raw_post("/api/console/messages", payload)
    assert status == 400 and "too long" in body["error"]
    assert await count("observations") == 0


async def test_unknown_command_answers_with_help(console: ConsoleClient) -> None:
    replies = await console.say("alice", "team", "/skill frobnicate now")
    assert "I don't know `/skill frobnicate`" in replies[0]["text"]
    assert "/skill optin" in replies[0]["text"]


async def test_unknown_channel_history_is_404(console: ConsoleClient) -> None:
    async with console.session.get(f"{console.base}/api/console/channels/nope/messages") as r:
        assert r.status == 404 and "nope" in (await r.json())["error"]


async def test_observing_an_unknown_channel_says_so(console: ConsoleClient) -> None:
    replies = await console.say("admin", "team", "/skill admin observe #nowhere")
    assert "can't find a channel called #nowhere" in replies[0]["text"]
    assert await count("channels", "observed = ?", 1) == 0


async def test_admin_command_by_non_admin_is_refused_and_audited(console: ConsoleClient) -> None:
    replies = await console.say("carol", "team", "/skill admin observe #team")
    assert "admin commands are for workspace admins" in replies[0]["text"]
    assert await count("channels", "observed = ?", 1) == 0
    audit = await console.say("admin", "dm:admin", "/skill admin audit 5")
    assert "admin.refused" in audit[0]["text"]


async def test_bare_admin_by_non_admin_is_refused(console: ConsoleClient) -> None:
    replies = await console.say("carol", "team", "/skill admin")
    assert "admin commands are for workspace admins" in replies[0]["text"]


async def test_audit_count_out_of_range_explains_the_range(console: ConsoleClient) -> None:
    replies = await console.say("admin", "team", "/skill admin audit 99999")
    assert "from 1 to 200" in replies[0]["text"]


async def test_forged_button_value_is_refused(console: ConsoleClient) -> None:
    replies = await console.click("alice", {"action_id": "consent.agree", "value": "{bad"})
    assert "not one I made" in replies[0]["text"]
    assert await count("consent_events") == 0


async def test_stale_notice_version_is_asked_again(console: ConsoleClient) -> None:
    value = '{"p": "observe", "v": "1999-01-01.1", "ch": ["*"]}'
    replies = await console.click("alice", {"action_id": "consent.agree", "value": value})
    assert "notice changed" in replies[0]["text"]
    assert any(r["buttons"] for r in replies)
    assert await count("consent_events") == 0


async def test_dm_text_to_the_bot_gets_a_hint_and_is_not_stored(console: ConsoleClient) -> None:
    await console.opt_in("alice")
    replies = await console.say("alice", "dm:alice", "hello bot")
    assert "don't read direct messages" in replies[0]["text"]
    assert await count("observations") == 0


async def test_a_body_sent_in_pieces_is_read_whole(console: ConsoleClient) -> None:
    body = json.dumps({"user": "alice", "channel": "team", "text": "y" * 30_000}).encode()

    async def pieces():  # chunked transfer: the server sees the body arrive in parts
        for start in range(0, len(body), 7000):
            yield body[start : start + 7000]
            await asyncio.sleep(0.01)

    async with console.session.post(
        f"{console.base}/api/console/messages",
        data=pieces(),
        headers={"Content-Type": "application/json"},
    ) as r:
        assert r.status == 200, await r.text()


async def test_a_dm_history_is_shown_only_to_its_person(console: ConsoleClient) -> None:
    await console.say("alice", "dm:alice", "/skill help")
    url = f"{console.base}/api/console/channels/dm:alice/messages"
    async with console.session.get(url, params={"user": "carol"}) as r:
        assert r.status == 403
    async with console.session.get(url, params={"user": "alice"}) as r:
        assert r.status == 200 and len((await r.json())["messages"]) == 2
