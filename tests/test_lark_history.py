"""`apprentice import lark CHAT_ID…`: the message list API via lark-oapi, against the fake."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.lark.history import HistoryError, import_chats
from bot.app import Application
from bot.settings import Settings
from tests.fakes.lark import (
    BOT_NAME,
    BOT_OPEN_ID,
    Failure,
    FakeLark,
    history_message,
    lark_settings,
    running_fake,
)
from tests.imports_support import database_bytes, quiet_console, shown, stored_message_ids
from tests.test_lark_longconn import Workspace

ALICE, BOB, CAROL = "ou_alice", "ou_bob", "ou_carol"
LIST = "/open-apis/im/v1/messages"
DAY = 86400.0
RATE_LIMITED = Failure(
    429, 99991400, "request trigger frequency limit", headers={"x-ogw-ratelimit-reset": "0"}
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeLark]:
    async with running_fake() as server:
        yield server


@pytest.fixture
async def settings(tmp_path: Path, fake: FakeLark) -> Settings:
    """Team observed; alice agreed to observation and history, bob to observation only."""
    settings = lark_settings(tmp_path / "data", fake)
    app = Application(settings)
    await app.start(serve_web=False)
    try:
        await fake.wait_connected()
        lark = Workspace(fake, app)
        await lark.say("ou_admin", "oc_team", "/skill admin observe Team")
        await lark.opt_in(ALICE)
        await lark.dm(ALICE, "/skill optin history")
        await lark.click(ALICE, lark.last_card_to(ALICE), "Agree")
        await lark.opt_in(BOB)
    finally:
        await app.stop()
    return settings


def team_history(fake: FakeLark) -> list[str]:
    """120 messages of alice's (three pages), and everything that must not be imported."""
    start = time.time() - 5 * DAY
    alice = [
        history_message(
            ALICE,
            "oc_team",
            f"alice update {i}: the export is {i}% done",
            message_id=f"om_alice_{i:03d}",
            created=start + i,
        )
        for i in range(120)
    ]
    fake.history["oc_team"] = [
        *alice,
        history_message(
            ALICE,
            "oc_team",
            "reply in a topic",
            message_id="om_alice_reply",
            created=start + 200,
            thread_of="om_alice_000",
        ),
        history_message(
            BOB, "oc_team", "bob: observed, no history", message_id="om_bob", created=start + 201
        ),
        history_message(
            CAROL, "oc_team", "carol never agreed", message_id="om_carol", created=start + 202
        ),
        history_message(
            "cli_other_bot",
            "oc_team",
            "build passed",
            message_id="om_botmsg",
            created=start + 203,
            sender_type="app",
        ),
        history_message(
            ALICE,
            "oc_team",
            "",
            message_id="om_image",
            created=start + 204,
            msg_type="image",
            content={"image_key": "img_v2_1"},
        ),
        history_message(
            ALICE,
            "oc_team",
            "recalled",
            message_id="om_recalled",
            created=start + 205,
            deleted=True,
        ),
        history_message(
            ALICE,
            "oc_team",
            "@_user_1 what can you do",
            message_id="om_to_bot",
            created=start + 206,
            mentions=[(BOT_OPEN_ID, BOT_NAME)],
        ),
        history_message(
            ALICE,
            "oc_team",
            "more than a year ago",
            message_id="om_ancient",
            created=time.time() - 400 * DAY,
        ),
    ]
    fake.history["oc_random"] = [
        history_message(ALICE, "oc_random", "random is not observed", message_id="om_random")
    ]
    return [m["message_id"] for m in alice] + ["om_alice_reply"]


def list_calls(fake: FakeLark) -> list[dict[str, str]]:
    """The message list API calls (the same path as sending, with GET)."""
    return [c.query for c in fake.calls_to(LIST) if c.method == "GET"]


class Waits:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


async def test_only_observed_chats_are_read_and_only_history_consent_is_kept(
    settings: Settings, fake: FakeLark
) -> None:
    kept = team_history(fake)
    counts = await import_chats(
        settings, ["oc_team", "oc_random", "oc_p2p_ou_alice"], quiet_console(), sleep=Waits()
    )
    assert counts == {
        "stored": 121,
        "author_has_no_history_grant": 1,
        "author_has_no_grant": 1,
        "from_a_bot": 1,
        "not_text": 1,
        "deleted": 1,
        "command_to_the_bot": 1,
    }
    assert {q["container_id"] for q in list_calls(fake)} == {"oc_team"}  # nothing else was read
    assert stored_message_ids(settings) == {ALICE: sorted(kept)}
    stored = database_bytes(settings)
    for refused in (b"om_bob", b"om_carol", b"om_random", b"om_to_bot", b"om_ancient"):
        assert refused not in stored


async def test_pages_are_followed_with_the_page_token(settings: Settings, fake: FakeLark) -> None:
    team_history(fake)
    await import_chats(settings, ["oc_team"], quiet_console(), sleep=Waits())
    listed = list_calls(fake)
    assert len(listed) == 3  # 127 messages in the retention period, 50 a page
    assert "page_token" not in listed[0]
    assert all(q["page_size"] == "50" and q["sort_type"] == "ByCreateTimeAsc" for q in listed)
    assert listed[1]["page_token"] and listed[2]["page_token"] != listed[1]["page_token"]
    assert int(listed[0]["start_time"]) < time.time() - 89 * DAY  # the retention period


async def test_rate_limits_are_waited_out_with_backoff(settings: Settings, fake: FakeLark) -> None:
    team_history(fake)
    fake.fail_next(LIST, RATE_LIMITED, times=3)
    waits = Waits()
    counts = await import_chats(settings, ["oc_team"], quiet_console(), sleep=waits, backoff=0.5)
    assert counts["stored"] == 121
    assert waits.seconds == [0.5, 1.0, 2.0]  # Lark said "reset now": our backoff doubles


async def test_a_rate_limit_that_never_lifts_stops_with_advice(
    settings: Settings, fake: FakeLark
) -> None:
    team_history(fake)
    fake.fail_next(LIST, RATE_LIMITED, times=50)
    with pytest.raises(HistoryError, match="Run the import again later"):
        await import_chats(settings, ["oc_team"], quiet_console(), sleep=Waits())


async def test_importing_twice_keeps_each_message_once(settings: Settings, fake: FakeLark) -> None:
    kept = team_history(fake)
    await import_chats(settings, ["oc_team"], quiet_console(), sleep=Waits())
    console = quiet_console()
    again = await import_chats(settings, ["oc_team"], console, sleep=Waits())
    assert again["stored"] == 0 and again["already_stored"] == 121
    assert stored_message_ids(settings) == {ALICE: sorted(kept)}
    assert "Imported 0 messages" in shown(console)


async def test_an_unobserved_chat_is_not_read_at_all(settings: Settings, fake: FakeLark) -> None:
    team_history(fake)
    console = quiet_console()
    counts = await import_chats(settings, ["oc_random"], console, sleep=Waits())
    assert counts == {} and list_calls(fake) == []
    assert "Chats not observed, so not read: 1" in shown(console)
