"""The issue's walk-through, through the console API of a real app on a real SQLite file."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from tortoise import Tortoise

from adapters.console.normalize import Click, PostedMessage, message_event
from bot.app import Application
from tests.conftest import ConsoleClient

ALICE_CHANNEL_WORDS = "alice-quokka-7 finished the invoice export"
ALICE_DM_WORDS = "alice-secret-dm-narwhal"
CAROL_WORDS = "carol-zebra-42 thinks the wifi is slow"


def database_bytes(app: Application) -> bytes:
    data_dir = app.settings.data_dir
    return b"".join(p.read_bytes() for p in sorted(data_dir.glob("apprentice.db*")))


async def count(table: str, where: str = "1=1", *params: object) -> int:
    connection = Tortoise.get_connection("default")
    _, rows = await connection.execute_query(
        f"SELECT COUNT(*) AS n FROM {table} WHERE {where}", list(params)
    )
    return int(rows[0][0] if not isinstance(rows[0], dict) else rows[0]["n"])


async def walk_through(console: ConsoleClient) -> None:
    await console.say("admin", "team", "/skill admin observe #team")
    await console.opt_in("alice")
    await console.say("alice", "team", ALICE_CHANNEL_WORDS)
    await console.say("carol", "team", CAROL_WORDS)
    await console.say("alice", "dm:alice", ALICE_DM_WORDS)


async def test_observe_posts_a_visible_notice_in_the_channel(console: ConsoleClient) -> None:
    replies = await console.say("admin", "team", "/skill admin observe #team")
    notice = [r for r in replies if r["channel"] == "team" and "observes #team" in r["text"]]
    assert notice and "/skill optin" in notice[0]["text"]


async def test_optin_dms_a_notice_with_agree_and_no_thanks(console: ConsoleClient) -> None:
    replies = await console.say("alice", "team", "/skill optin")
    dm = next(r for r in replies if r["channel"] == "dm:alice")
    assert [b["label"] for b in dm["buttons"]] == ["Agree", "No thanks"]
    assert "never your direct messages" in dm["text"]


async def test_database_holds_no_plaintext_and_nothing_of_carol(
    app: Application, console: ConsoleClient
) -> None:
    await walk_through(console)
    stored = database_bytes(app)
    for words in (ALICE_CHANNEL_WORDS, ALICE_DM_WORDS, CAROL_WORDS):
        for word in words.split():
            if len(word) > 6:
                assert word.encode() not in stored
    assert await count("observations") == 1


async def test_mydata_reports_exactly_the_one_channel_message(console: ConsoleClient) -> None:
    await walk_through(console)
    replies = await console.say("alice", "team", "/skill mydata")
    dm = next(r for r in replies if r["channel"] == "dm:alice")
    assert "messages kept: 1" in dm["text"] and "#team: 1" in dm["text"]
    export = json.loads(dm["attachment"]["content"])
    assert [o["text"] for o in export["observations"]] == [ALICE_CHANNEL_WORDS]
    assert export["consent_events"][0]["action"] == "grant"
    assert len(export["consent_events"][0]["notice_sha256"]) == 64
    public = next(r for r in replies if r["channel"] == "team")
    assert ALICE_CHANNEL_WORDS not in public["text"]


async def test_forget_leaves_no_row_and_gives_a_receipt(
    app: Application, console: ConsoleClient
) -> None:
    await walk_through(console)
    replies = await console.say("alice", "dm:alice", "/skill forget")
    assert "Erasure receipt" in replies[0]["text"] and "messages deleted: 1" in replies[0]["text"]
    assert await count("people", "user_id = ?", "alice") == 0
    # The key is destroyed with the receipt; the rows go in the background, in batches.
    assert await count("people", "length(wrapped_key) > 0") == 0
    assert app.eraser is not None
    await app.eraser.idle()
    assert await count("people") == 0
    assert await count("observations") == 0
    # The ledger keeps the proof of consent and its withdrawal, and nothing else.
    actions = await Tortoise.get_connection("default").execute_query_dict(
        "SELECT action FROM consent_events WHERE user_id = ? ORDER BY id", ["alice"]
    )
    assert [a["action"] for a in actions] == ["grant", "withdraw"]
    mydata = await console.say("alice", "dm:alice", "/skill mydata")
    assert "messages kept: 0" in mydata[0]["text"]


async def test_audit_shows_the_events_without_message_text(console: ConsoleClient) -> None:
    await walk_through(console)
    await console.say("alice", "dm:alice", "/skill forget")
    replies = await console.say("admin", "dm:admin", "/skill admin audit")
    text = replies[0]["text"]
    for action in ("channel.observe", "consent.grant", "person.erased"):
        assert action in text
    for words in (ALICE_CHANNEL_WORDS, ALICE_DM_WORDS, CAROL_WORDS):
        assert words.split()[0] not in text
    assert "alice" not in text  # people appear by pseudonym only


async def test_carol_is_asked_once_when_she_writes_in_an_observed_channel(
    console: ConsoleClient,
) -> None:
    await console.say("admin", "team", "/skill admin observe #team")
    first = await console.say("carol", "team", "hello team")
    second = await console.say("carol", "team", "hello again")
    assert [r["channel"] for r in first] == ["dm:carol"]
    assert first[0]["buttons"]
    assert second == []


async def test_optout_stops_storing_at_once(app: Application, console: ConsoleClient) -> None:
    await console.say("admin", "team", "/skill admin observe #team")
    await console.opt_in("alice")
    await console.say("alice", "team", "before optout")
    await console.say("alice", "team", "/skill optout")
    await console.say("alice", "team", "after optout")
    assert await count("observations") == 1


async def test_unobserved_channel_is_not_stored(console: ConsoleClient) -> None:
    await console.opt_in("alice")
    await console.say("alice", "random", "nobody observes random")
    await console.say("admin", "team", "/skill admin observe #team")
    await console.say("admin", "team", "/skill admin unobserve #team")
    await console.say("alice", "team", "team is no longer observed")
    assert await count("observations") == 0


async def test_revoke_by_admin_erases_and_notifies_the_person(
    app: Application, console: ConsoleClient
) -> None:
    await walk_through(console)
    replies = await console.say("admin", "team", "/skill admin revoke @alice")
    by_channel = {r["channel"]: r["text"] for r in replies}
    assert "Erasure receipt" in by_channel["dm:alice"]
    assert "Revoked @alice: 1 messages deleted" in by_channel["team"]
    assert app.eraser is not None
    await app.eraser.idle()
    assert await count("observations") == 0


async def test_status_reports_channels_people_and_the_chain(console: ConsoleClient) -> None:
    await walk_through(console)
    replies = await console.say("admin", "dm:admin", "/skill admin status")
    text = replies[0]["text"]
    assert "#team" in text and "people with consent in force: 1" in text
    assert "messages kept: 1" in text and "audit chain: intact" in text


async def test_key_file_is_private(app: Application) -> None:
    key_file: Path = app.settings.key_file
    assert key_file.exists() and key_file.stat().st_mode & 0o777 == 0o600


async def test_a_delete_that_overtakes_its_message_still_wins(app: Application) -> None:
    assert app.console is not None and app.bus is not None
    await app.console.post(PostedMessage("admin", "team", "/skill admin observe #team"))
    replies = await app.console.post(PostedMessage("alice", "dm:alice", "/skill optin"))
    agree = next(b for r in replies for b in r.buttons if b["label"] == "Agree")
    await app.console.click(Click("alice", agree["action_id"], agree["value"]))
    message = message_event(PostedMessage("alice", "team", "soon recalled"), "e1", "m-recalled")
    deletion = replace(message, id="e2", deleted=True, actor=replace(message.actor, id=""))
    await (await app.bus.publish(deletion))
    await (await app.bus.publish(message))
    assert await count("observations") == 0


async def test_the_notice_is_in_chinese_for_a_chinese_locale(console: ConsoleClient) -> None:
    async with console.session.post(
        f"{console.base}/api/console/messages",
        json={"user": "wei", "channel": "dm:wei", "text": "/skill optin", "locale": "zh-CN"},
    ) as response:
        replies = (await response.json())["replies"]
    assert "Apprentice 希望从你的消息中学习" in replies[0]["text"]
    agree = next(b for b in replies[0]["buttons"] if b["label"] == "Agree")
    await console.click("wei", agree)
    rows = await Tortoise.get_connection("default").execute_query_dict(
        "SELECT language, notice_sha256 FROM consent_events WHERE user_id = ?", ["wei"]
    )
    assert rows[0]["language"] == "zh" and len(rows[0]["notice_sha256"]) == 64
