"""DingTalk payloads → Events, from fixtures in DingTalk's documented shapes (pure, no I/O)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from adapters.dingtalk.normalize import card_action, chat_message
from adapters.dingtalk.replies import EXPIRED_BUTTON, PendingButtons
from bot.commands.consent import AGREE, consent_buttons
from bot.consent.notices import Purpose
from bot.events import ConversationKind, EventKind
from bot.outbound import Button

# "Receive messages" (robot, Stream mode): a group message.
# With the permission to receive all group messages, one that does not @-mention the bot.
GROUP_MESSAGE: dict[str, Any] = {
    "conversationId": "cidTeam0001==",
    "atUsers": [],
    "chatbotCorpId": "dingcorp0001",
    "chatbotUserId": "$:LWCP_v1:$robot0001",
    "msgId": "msgOv2PhAd+0001",
    "senderNick": "Alice",
    "isAdmin": False,
    "senderStaffId": "alice001",
    "sessionWebhookExpiredTime": 1795000000000,
    "createAt": 1794994600000,
    "senderCorpId": "dingcorp0001",
    "conversationType": "2",
    "senderId": "$:LWCP_v1:$alice",
    "conversationTitle": "Team Alpha",
    "isInAtList": False,
    "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=abc",
    "text": {"content": "finished the invoice export"},
    "robotCode": "dingtestapp",
    "msgtype": "text",
}


def group_message(**changes: Any) -> dict[str, Any]:
    return {**GROUP_MESSAGE, **changes}


def to_the_bot(content: str, *others: tuple[str, str]) -> dict[str, Any]:
    """A group message that @-mentions the bot (DingTalk removes that mention from the text),
    and maybe other people: (nick, staff id) each."""
    robot = {"dingtalkId": GROUP_MESSAGE["chatbotUserId"]}
    people = [{"dingtalkId": f"$:LWCP_v1:${staff}", "staffId": staff} for _, staff in others]
    return group_message(isInAtList=True, atUsers=[robot, *people], text={"content": content})


def one_to_one(**changes: Any) -> dict[str, Any]:
    message = group_message(conversationType="1", conversationId="cidDm0001==", **changes)
    for key in ("conversationTitle", "isInAtList", "atUsers"):
        message.pop(key, None)
    return message


def card_callback(params: dict[str, Any]) -> dict[str, Any]:
    """ "Card callback" (topic /v1.0/card/instances/callback): a request button was pressed."""
    content = {"cardPrivateData": {"actionIds": ["agree_button"], "params": params}}
    return {
        "extension": "{}",
        "corpId": "dingcorp0001",
        "spaceType": "IM_ROBOT",
        "userIdType": 1,
        "type": "actionCallback",
        "userId": "alice001",
        "content": json.dumps(content),
        "spaceId": "alice001",
        "outTrackId": "track0001",
    }


# -- chatbot messages ----------------------------------------------------------------------


def test_group_message_is_a_channel_message_of_the_corp() -> None:
    normalized = chat_message(GROUP_MESSAGE)
    assert normalized is not None
    event = normalized.event
    assert event.kind is EventKind.MESSAGE and event.id == "msgOv2PhAd+0001"
    assert (event.tenant, event.actor.id, event.actor.name) == ("dingcorp0001", "alice001", "Alice")
    assert event.conversation.kind is ConversationKind.CHANNEL
    assert (event.conversation.id, event.conversation.name) == ("cidTeam0001==", "Team Alpha")
    assert event.occurred_at == datetime.fromtimestamp(1794994600, UTC)
    assert event.text == "finished the invoice export"


def test_group_message_keeps_its_session_webhook_and_expiry() -> None:
    normalized = chat_message(GROUP_MESSAGE)
    assert normalized is not None
    assert normalized.session_webhook == GROUP_MESSAGE["sessionWebhook"]
    assert normalized.webhook_expires_at == datetime.fromtimestamp(1795000000, UTC)


def test_one_to_one_message_is_a_dm() -> None:
    normalized = chat_message(one_to_one(text={"content": "hello"}))
    assert normalized is not None
    assert normalized.event.conversation.kind is ConversationKind.DM
    assert normalized.event.kind is EventKind.MESSAGE


def test_slash_skill_is_a_command_in_a_group() -> None:
    normalized = chat_message(group_message(isInAtList=False, text={"content": "/skill mydata"}))
    assert normalized is not None and normalized.event.command is not None
    assert normalized.event.kind is EventKind.COMMAND and normalized.event.command.name == "mydata"


def test_mention_of_the_bot_followed_by_skill_is_a_command() -> None:
    normalized = chat_message(to_the_bot(" skill admin observe #team"))
    assert normalized is not None and normalized.event.command is not None
    assert normalized.event.command.name == "admin"
    assert normalized.event.command.args == ("observe", "#team")


def test_a_message_to_the_bot_is_a_command_even_without_skill() -> None:
    normalized = chat_message(to_the_bot(" help"))
    assert normalized is not None and normalized.event.kind is EventKind.COMMAND
    assert normalized.event.command is not None and normalized.event.command.name == "help"


def test_a_bare_mention_of_the_bot_asks_for_help() -> None:
    normalized = chat_message(to_the_bot(" "))
    assert normalized is not None and normalized.event.command is not None
    assert normalized.event.command.name == "help"


def test_people_mentioned_in_a_command_become_their_staff_ids() -> None:
    normalized = chat_message(to_the_bot(" skill admin revoke @Alice ", ("Alice", "alice001")))
    assert normalized is not None and normalized.event.command is not None
    assert normalized.event.command.args == ("revoke", "@alice001")


def test_mentions_that_do_not_line_up_with_the_at_list_are_kept() -> None:
    normalized = chat_message(to_the_bot(" skill admin revoke @Alice @Bob", ("Bob", "bob001")))
    assert normalized is not None and normalized.event.command is not None
    assert normalized.event.command.args == ("revoke", "@Alice", "@Bob")


def test_skill_without_a_mention_in_a_group_is_just_a_message() -> None:
    normalized = chat_message(group_message(isInAtList=False, text={"content": "skill issue"}))
    assert normalized is not None and normalized.event.kind is EventKind.MESSAGE


def test_skill_typed_to_the_bot_directly_is_a_command() -> None:
    normalized = chat_message(one_to_one(text={"content": "skill help"}))
    assert normalized is not None and normalized.event.kind is EventKind.COMMAND


def test_rich_text_keeps_only_its_text() -> None:
    rich = group_message(
        msgtype="richText",
        content={
            "richText": [
                {"text": "see "},
                {"downloadCode": "x", "type": "picture"},
                {"text": "this"},
            ]
        },
    )
    rich.pop("text")
    normalized = chat_message(rich)
    assert normalized is not None and normalized.event.text == "see this"


def test_pictures_voice_and_files_are_not_read() -> None:
    for msgtype in ("picture", "audio", "file", "video"):
        payload = group_message(msgtype=msgtype, content={"downloadCode": "dl-1"})
        payload.pop("text")
        assert chat_message(payload) is None


def test_a_message_without_its_ids_is_dropped() -> None:
    for missing in ("msgId", "conversationId", "chatbotCorpId"):
        payload = group_message(senderCorpId="") if missing == "chatbotCorpId" else group_message()
        payload.pop(missing)
        assert chat_message(payload) is None


# -- card callbacks ---------------------------------------------------------------------------


def test_card_button_is_an_action_with_its_id_value_and_card() -> None:
    event = card_action(card_callback({"action_id": AGREE, "value": '{"p":"observe"}'}), "f1")
    assert event is not None and event.action is not None
    assert event.kind is EventKind.ACTION and event.id == "card:f1"
    assert (event.tenant, event.actor.id) == ("dingcorp0001", "alice001")
    assert event.action.id == AGREE and event.action.value == '{"p":"observe"}'
    assert event.action.message_ref == "track0001"
    assert event.conversation.kind is ConversationKind.DM


def test_card_button_without_params_uses_the_action_id() -> None:
    event = card_action(card_callback({}), "f2")
    assert event is not None and event.action is not None
    assert (event.action.id, event.action.value) == ("agree_button", "")


def test_card_callback_without_a_person_is_dropped() -> None:
    payload = card_callback({"action_id": AGREE})
    payload.pop("userId")
    assert card_action(payload, "f3") is None


# -- typed replies standing for clicks --------------------------------------------------------


def typed(text: str) -> Any:
    normalized = chat_message(one_to_one(text={"content": text}))
    assert normalized is not None
    return normalized.event


def test_typed_consent_answers_reach_the_core_as_commands() -> None:
    pending = PendingButtons()
    pending.remember("dingcorp0001", "alice001", consent_buttons(Purpose.OBSERVE, ["*"]), None)
    event = typed("/skill optin yes")
    assert pending.resolve(event) is event  # the ledger knows which notice was shown


def test_choose_presses_a_numbered_button() -> None:
    pending = PendingButtons()
    buttons = (Button("Publish", "skill.publish", "v3"), Button("Discard", "skill.discard", "v3"))
    pending.remember("dingcorp0001", "alice001", buttons, "m1")
    event = pending.resolve(typed("/skill choose 2"))
    assert event.action is not None and event.action.id == "skill.discard"


def test_choose_without_such_a_button_says_it_expired() -> None:
    event = PendingButtons().resolve(typed("/skill choose 4"))
    assert event.action is not None and event.action.id == EXPIRED_BUTTON


def test_other_commands_pass_through() -> None:
    event = typed("/skill optin model")
    assert PendingButtons().resolve(event) is event
