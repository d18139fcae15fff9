"""DingTalk, the natural first steps: an admin @-mentions the bot with `skill admin observe` in
the group itself, people agree by button or by typing (同意 included), `@Apprentice help` is
answered and never kept, `/skill mydata` counts exactly, and the consent prompt and a revoke
receipt reach the person by robot DM. Real dingtalk-stream client against the local fake."""

from __future__ import annotations

from pathlib import Path

from bot.app import Application
from bot.consent.notices import Purpose, Terms, notice_version
from tests.fakes.dingtalk import FakeDingTalk, Person
from tests.test_dingtalk import (
    ADMIN,
    ALICE,
    ALICE_WORDS,
    CAROL,
    CAROL_WORDS,
    TEAM,
    bot,
    bot_settings,
    card_bot,
    eventually,
    fake,
    observations_are,
    opt_in,
    running,
    say,
    settle,
)
from tests.test_end_to_end import count

__all__ = ["bot", "card_bot", "fake"]  # the fixtures, shared with tests/test_dingtalk.py

DAVE = Person("dave001", "Dave")


async def observe_here(fake: FakeDingTalk) -> None:
    await say(fake, ADMIN, " skill admin observe", TEAM, at_bot=True)
    await fake.wait_in_group(TEAM, "now observes #Team Alpha")  # the notice, then the record:
    await fake.wait_in_group(TEAM, "#Team Alpha is now observed")  # the answer comes after it


async def test_admin_observe_typed_in_the_group_observes_it(
    bot: Application, fake: FakeDingTalk
) -> None:
    await observe_here(fake)
    assert await count("channels", "channel_id = ? AND observed = 1", TEAM.id) == 1


async def test_admin_observe_in_a_one_to_one_chat_is_refused(
    bot: Application, fake: FakeDingTalk
) -> None:
    await say(fake, ADMIN, "/skill admin observe")
    await fake.wait_dm(ADMIN, "never observed")
    assert await count("channels", "observed = 1") == 0


async def test_admin_unobserve_typed_in_the_group_stops_observing_it(
    bot: Application, fake: FakeDingTalk
) -> None:
    await observe_here(fake)
    await say(fake, ADMIN, " skill admin unobserve", TEAM, at_bot=True)
    await fake.wait_in_group(TEAM, "no longer observes #Team Alpha")
    assert await count("channels", "observed = 1") == 0


async def test_a_message_to_the_bot_in_an_observed_group_is_answered_and_never_kept(
    bot: Application, fake: FakeDingTalk
) -> None:
    await observe_here(fake)
    await opt_in(fake, ALICE)
    await say(fake, ALICE, ALICE_WORDS, TEAM)
    await say(fake, ALICE, " help", TEAM, at_bot=True)  # "@Apprentice help"
    await fake.wait_in_group(TEAM, "recurring work")
    await say(fake, ALICE, " skill mydata", TEAM, at_bot=True)
    summary = await fake.wait_dm(ALICE, "messages kept")
    assert "messages kept: 1 " in summary.text
    assert await count("observations") == 1


async def test_the_one_time_prompt_goes_by_robot_dm_and_says_what_to_type(
    bot: Application, fake: FakeDingTalk
) -> None:
    await observe_here(fake)
    await say(fake, CAROL, CAROL_WORDS, TEAM)
    prompt = await fake.wait_dm(CAROL, "learn from your messages")
    assert prompt.via == "robot" and "/skill optin yes" in prompt.text
    await say(fake, CAROL, "/skill optin yes")  # typed, long after: the ledger remembers
    await fake.wait_dm(CAROL, "Thank you")
    where = "user_id = ? AND action = 'grant' AND mechanism = ? AND notice_version = ?"
    version = notice_version(Purpose.OBSERVE, Terms(retention_days=90))  # this install's
    assert await count("consent_events", where, CAROL.staff_id, "text:consent.agree", version)


async def test_in_chinese_replying_tongyi_agrees(tmp_path: Path, fake: FakeDingTalk) -> None:
    async with running(bot_settings(tmp_path, fake, locale="zh-CN")):
        await fake.wait_connections(1)
        await say(fake, DAVE, "/skill optin")
        notice = await fake.wait_dm(DAVE, "回复：同意")
        assert "不同意" in notice.text
        await say(fake, DAVE, "同意")
        await fake.wait_dm(DAVE, "Thank you")
        where = "user_id = ? AND action = 'grant' AND language = 'zh' AND mechanism = ?"
        assert await count("consent_events", where, DAVE.staff_id, "text:consent.agree") == 1


async def test_button_and_typed_answers_count_exactly_and_revoke_sends_a_robot_dm(
    bot: Application, fake: FakeDingTalk
) -> None:
    await observe_here(fake)
    await opt_in(fake, ALICE)  # the ActionCard's Agree button
    await say(fake, CAROL, "/skill optin")
    await fake.wait_dm(CAROL, "learn from your messages")
    await say(fake, CAROL, "/skill optin yes")  # typed
    await fake.wait_dm(CAROL, "Thank you")
    await say(fake, ALICE, ALICE_WORDS, TEAM)
    await say(fake, CAROL, CAROL_WORDS, TEAM)
    await settle(fake, ALICE)
    await settle(fake, CAROL)
    await eventually(lambda: observations_are(2), "both messages stored")
    await say(fake, ADMIN, " skill admin revoke @Alice", TEAM, at_bot=True, mentions=(ALICE,))
    await fake.wait_in_group(TEAM, f"Revoked @{ALICE.staff_id}: 1 messages deleted")
    receipt = await fake.wait_dm(ALICE, "An admin of this workspace revoked")  # 1:1, not group
    assert receipt.group is None and "messages deleted: 1" in receipt.text
    await say(fake, CAROL, " skill mydata", TEAM, at_bot=True)
    assert "messages kept: 1 " in (await fake.wait_dm(CAROL, "messages kept")).text


async def test_a_typed_answer_updates_the_consent_card_like_a_click(
    card_bot: Application, fake: FakeDingTalk
) -> None:
    await say(fake, ALICE, "/skill optin")
    card = await fake.wait_sent(lambda s: s.via == "card", "a consent card")
    await say(fake, ALICE, "/skill optin yes")
    await fake._until(
        lambda: "Thank you" in fake.cards[str(card.out_track_id)]["markdown"],
        "the card to show the typed answer",
        5.0,
    )
    assert fake.cards[str(card.out_track_id)]["buttons"] == "[]"
