"""Slack payloads → Events, and OutMessages → Block Kit: pure functions, documented shapes."""

from __future__ import annotations

from adapters.slack import render
from adapters.slack.normalize import (
    Profile,
    from_block_actions,
    from_event_callback,
    from_slash_command,
)
from bot.events import ConversationKind, EventKind
from bot.outbound import Button, ButtonStyle
from tests.fakes.slack import (
    ALICE,
    BOT_USER_ID,
    TEAM_CHANNEL,
    TEAM_ID,
    Posted,
    app_mention,
    block_actions,
    bot_message,
    event_callback,
    message,
    message_changed,
    message_deleted,
    slash_command,
)

ALICE_PROFILE = Profile(name="alice", locale="zh-CN")


def normalized(event: dict, profile: Profile | None = ALICE_PROFILE):  # type: ignore[no-untyped-def]
    return from_event_callback(event_callback(event), bot_user_id=BOT_USER_ID, profile=profile)


def test_a_channel_message_is_a_message_of_the_team() -> None:
    event = normalized(message(ALICE, TEAM_CHANNEL, "weekly report &lt;draft&gt; &amp; notes"))
    assert event is not None and event.kind is EventKind.MESSAGE
    assert (event.platform, event.tenant, event.actor.id) == ("slack", TEAM_ID, ALICE)
    assert event.actor.locale == "zh-CN" and event.actor.name == "alice"
    assert event.conversation.kind is ConversationKind.CHANNEL
    assert event.text == "weekly report <draft> & notes"
    assert event.message_id == f"{TEAM_CHANNEL}:{event.raw['ts']}"


def test_the_event_id_is_slacks_event_id() -> None:
    payload = event_callback(message(ALICE, TEAM_CHANNEL, "hello"), event_id="Ev0123ABC")
    event = from_event_callback(payload, bot_user_id=BOT_USER_ID)
    assert event is not None and event.id == "Ev0123ABC"


def test_a_private_channel_may_be_observed_but_a_group_dm_may_not() -> None:
    private = normalized(message(ALICE, "G0PRIV", "hi", channel_type="group"))
    group_dm = normalized(message(ALICE, "G0MPIM", "hi", channel_type="mpim"))
    assert private is not None and private.conversation.kind is ConversationKind.CHANNEL
    assert group_dm is not None and group_dm.conversation.kind is ConversationKind.GROUP


def test_a_thread_reply_carries_its_thread_and_a_parent_does_not() -> None:
    root = "1700000000.000100"
    reply = normalized(message(ALICE, TEAM_CHANNEL, "reply", thread_ts=root))
    parent = normalized(message(ALICE, TEAM_CHANNEL, "parent", ts=root, thread_ts=root))
    assert reply is not None and reply.conversation.thread_id == root
    assert parent is not None and parent.conversation.thread_id is None


def test_an_edit_replaces_the_same_message() -> None:
    edit = normalized(message_changed(ALICE, TEAM_CHANNEL, "1700000000.000100", "old", "new"))
    assert edit is not None and edit.edited and edit.text == "new"
    assert edit.message_id == f"{TEAM_CHANNEL}:1700000000.000100"


def test_an_unfurl_is_not_an_edit() -> None:
    assert normalized(message_changed(ALICE, TEAM_CHANNEL, "1.000001", "same", "same")) is None


def test_a_delete_erases_the_same_message() -> None:
    gone = normalized(message_deleted(ALICE, TEAM_CHANNEL, "1700000000.000100", "oops"))
    assert gone is not None and gone.deleted and not gone.actor.is_bot
    assert gone.message_id == f"{TEAM_CHANNEL}:1700000000.000100"


def test_bot_and_system_messages_are_dropped() -> None:
    join = message(ALICE, TEAM_CHANNEL, "<@U0ALICE> has joined the channel")
    join["subtype"] = "channel_join"
    assert normalized(bot_message(TEAM_CHANNEL, "build passed")) is None
    assert normalized(join) is None


def test_a_person_whose_profile_says_bot_is_a_bot() -> None:
    event = normalized(message(ALICE, TEAM_CHANNEL, "hi"), Profile(name="ci", is_bot=True))
    assert event is not None and event.actor.is_bot


def test_a_mention_of_the_bot_followed_by_skill_is_a_command() -> None:
    event = normalized(message(ALICE, TEAM_CHANNEL, f"<@{BOT_USER_ID}> skill optin"))
    assert event is not None and event.kind is EventKind.COMMAND
    assert event.command is not None and event.command.name == "optin"


def test_the_message_and_app_mention_of_one_command_share_an_id() -> None:
    text = f"<@{BOT_USER_ID}> skill help"
    as_message = normalized(message(ALICE, TEAM_CHANNEL, text, ts="1700000000.000200"))
    as_mention = normalized(app_mention(ALICE, TEAM_CHANNEL, text, ts="1700000000.000200"))
    assert as_message is not None and as_mention is not None
    assert as_message.id == as_mention.id


def test_a_message_addressed_to_the_bot_is_a_command_never_a_message() -> None:
    text = f"<@{BOT_USER_ID}> help"
    as_mention = normalized(app_mention(ALICE, TEAM_CHANNEL, text, ts="1700000000.000300"))
    as_message = normalized(message(ALICE, TEAM_CHANNEL, text, ts="1700000000.000300"))
    assert as_mention is not None and as_message is not None
    assert as_message.kind is EventKind.COMMAND and as_message.command is not None
    assert as_message.command.name == "help" and as_message.id == as_mention.id


def test_a_mention_later_in_a_message_leaves_it_a_message() -> None:
    assert normalized(app_mention(ALICE, TEAM_CHANNEL, f"thanks <@{BOT_USER_ID}>!")) is None


def test_in_a_dm_skill_without_a_slash_is_a_command_and_other_text_is_not() -> None:
    command = normalized(message(ALICE, "D0ALICE", "skill mydata", channel_type="im"))
    chat = normalized(message(ALICE, "D0ALICE", "skills are great", channel_type="im"))
    assert command is not None and command.kind is EventKind.COMMAND
    assert command.command is not None and command.command.name == "mydata"
    assert chat is not None and chat.kind is EventKind.MESSAGE
    assert chat.conversation.kind is ConversationKind.DM


def test_an_edit_in_a_dm_is_dropped() -> None:
    edit = message_changed(ALICE, "D0ALICE", "1.000001", "old", "new")
    edit["channel_type"] = "im"
    assert normalized(edit) is None


def test_a_slash_command_keeps_its_text_and_reply_token() -> None:
    form = slash_command(
        ALICE, "alice", TEAM_CHANNEL, "team", "admin observe <#C0TEAM|team>", "https://x/r"
    )
    event = from_slash_command(form, profile=ALICE_PROFILE, reply_token="cmd:1")
    assert event is not None and event.kind is EventKind.COMMAND
    assert event.command is not None
    assert (event.command.name, event.command.args) == ("admin", ("observe", "<#C0TEAM|team>"))
    assert event.conversation.reply_token == "cmd:1" and event.actor.locale == "zh-CN"


def test_a_slash_command_in_a_dm_is_answered_in_the_dm() -> None:
    form = slash_command(ALICE, "alice", "D0OTHER", "directmessage", "mydata", "https://x/r")
    event = from_slash_command(form, reply_token="cmd:1")
    assert event is not None and event.conversation.kind is ConversationKind.DM
    assert event.conversation.thread_id is None


def test_an_empty_slash_command_is_help() -> None:
    form = slash_command(ALICE, "alice", TEAM_CHANNEL, "team", "", "https://x/r")
    event = from_slash_command(form)
    assert event is not None and event.command is not None and event.command.name == "help"


def test_a_click_carries_the_button_and_the_message_to_update() -> None:
    posted = Posted(channel="D0ALICE", ts="1700000000.000300", text="notice")
    button = render.button(Button("Agree", "consent.agree", '{"p": "observe"}'))
    event = from_block_actions(block_actions(ALICE, "alice", posted, button, "https://x/r"))
    assert event is not None and event.kind is EventKind.ACTION and event.action is not None
    assert (event.action.id, event.action.value) == ("consent.agree", '{"p": "observe"}')
    assert event.action.message_ref == "D0ALICE:1700000000.000300"
    assert event.conversation.kind is ConversationKind.DM and event.tenant == TEAM_ID


def test_buttons_render_as_one_actions_block_with_styles() -> None:
    blocks = render.blocks(
        "*Notice*", (Button("Agree", "a", "1", ButtonStyle.PRIMARY), Button("No thanks", "b", "1"))
    )
    assert [b["type"] for b in blocks] == ["section", "actions"]
    agree, decline = blocks[1]["elements"]
    assert agree["style"] == "primary" and "style" not in decline
    assert agree["text"] == {"type": "plain_text", "text": "Agree", "emoji": True}


def test_a_repeated_action_id_starts_a_new_actions_block() -> None:
    blocks = render.blocks("pick", (Button("One", "pick", "1"), Button("Two", "pick", "2")))
    assert [b["type"] for b in blocks] == ["section", "actions", "actions"]


def test_long_text_is_split_into_sections_at_line_breaks() -> None:
    text = "\n".join(f"line {n:05d} " + "x" * 90 for n in range(100))
    sections = [b for b in render.blocks(text) if b["type"] == "section"]
    assert len(sections) > 1
    assert all(len(s["text"]["text"]) <= render.SECTION_CHARS for s in sections)
    assert "\n".join(s["text"]["text"] for s in sections) == text
