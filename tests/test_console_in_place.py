"""The console, the natural first steps: observe the channel the admin types in, agree by
button or by typing, `@Apprentice help` answered and not kept, exact counts, a revoke receipt."""

from __future__ import annotations

from typing import Any

from bot.app import Application
from tests.conftest import ConsoleClient
from tests.test_end_to_end import count

ALICE_WORDS = "alice-quokka-7 finished the invoice export"
CAROL_WORDS = "carol-zebra-42 thinks the wifi is slow"


def saying(replies: list[dict[str, Any]], channel: str, words: str) -> list[dict[str, Any]]:
    return [r for r in replies if r["channel"] == channel and words in r["text"]]


async def test_admin_observe_with_no_channel_observes_the_one_typed_in(
    console: ConsoleClient,
) -> None:
    replies = await console.say("admin", "team", "/skill admin observe")
    assert saying(replies, "team", "now observes #team")
    assert await count("channels", "channel_id = 'team' AND observed = 1") == 1


async def test_admin_observe_in_a_dm_is_refused(console: ConsoleClient) -> None:
    replies = await console.say("admin", "dm:admin", "/skill admin observe")
    assert saying(replies, "dm:admin", "never observed")
    assert await count("channels", "observed = 1") == 0


async def test_admin_unobserve_with_no_channel_stops_the_one_typed_in(
    console: ConsoleClient,
) -> None:
    await console.say("admin", "team", "/skill admin observe")
    replies = await console.say("admin", "team", "/skill admin unobserve")
    assert saying(replies, "team", "no longer observes #team")
    assert await count("channels", "observed = 1") == 0


async def test_button_and_typed_answers_keep_and_count_exactly_and_revoke_tells_the_person(
    app: Application, console: ConsoleClient
) -> None:
    await console.say("admin", "team", "/skill admin observe")
    await console.opt_in("alice")  # the Agree button
    notice = await console.say("carol", "dm:carol", "/skill optin")
    assert saying(notice, "dm:carol", "/skill optin yes")  # the notice says what to type
    assert saying(await console.say("carol", "dm:carol", "/skill optin yes"), "dm:carol", "Thank")
    await console.say("alice", "team", ALICE_WORDS)
    await console.say("carol", "team", CAROL_WORDS)
    assert saying(await console.say("carol", "team", "@Apprentice help"), "team", "recurring")
    assert await count("observations") == 2
    mydata = await console.say("carol", "team", "/skill mydata")
    assert saying(mydata, "dm:carol", "messages kept: 1 ")
    replies = await console.say("admin", "team", "/skill admin revoke @alice")
    receipt = saying(replies, "dm:alice", "An admin of this workspace revoked")
    assert receipt and "messages deleted: 1" in receipt[0]["text"]
    assert app.eraser is not None
    await app.eraser.idle()  # the key went with the receipt; the rows go in the background
    assert await count("observations") == 1
    mechanisms = "user_id = 'carol' AND action = 'grant' AND mechanism = 'text:consent.agree'"
    assert await count("consent_events", mechanisms) == 1


async def test_tongyi_answers_the_notice_shown_last_whatever_its_purpose(
    console: ConsoleClient,
) -> None:
    await console.say("dave", "dm:dave", "/skill optin")
    notice = await console.say("dave", "dm:dave", "/skill optin model")
    assert saying(notice, "dm:dave", "/skill optin model yes")
    await console.say("dave", "dm:dave", "同意")
    granted = "user_id = 'dave' AND action = 'grant' AND mechanism = 'text:consent.agree'"
    assert await count("consent_events", granted + " AND purpose = 'model'") == 1
    assert await count("consent_events", "user_id = 'dave'") == 1  # observe: still unanswered


async def test_typed_no_declines_and_yes_before_any_notice_shows_it_first(
    console: ConsoleClient,
) -> None:
    first = await console.say("erin", "dm:erin", "/skill optin yes")
    assert saying(first, "dm:erin", "learn from your messages")
    assert await count("consent_events", "user_id = 'erin'") == 0
    await console.say("erin", "dm:erin", "/skill optin no")
    declined = "user_id = 'erin' AND action = 'decline' AND mechanism = 'text:consent.decline'"
    assert await count("consent_events", declined) == 1


async def test_tongyi_in_a_channel_is_just_a_message(console: ConsoleClient) -> None:
    await console.say("admin", "team", "/skill admin observe")
    await console.say("frank", "dm:frank", "/skill optin")
    await console.say("frank", "team", "同意")  # agreeing with a colleague, not with the bot
    assert await count("consent_events", "user_id = 'frank'") == 0
