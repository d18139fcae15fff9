"""Lark payloads (documented v2 shapes) → Events, without the SDK or the network."""

from __future__ import annotations

import json

from adapters.lark.normalize import card_action_event, flatten, message_event, recall_event
from adapters.lark.render import card, markdown
from bot.events import ConversationKind, EventKind
from bot.outbound import Button
from tests.fakes.lark import (
    BOT_OPEN_ID,
    TENANT,
    Sent,
    card_action_payload,
    message_payload,
    recall_payload,
)


def test_a_group_text_message_is_a_channel_message() -> None:
    event = message_event(message_payload("ou_alice", "oc_team", "hello team"))
    assert event is not None and event.kind is EventKind.MESSAGE
    assert (event.text, event.tenant, event.actor.id) == ("hello team", TENANT, "ou_alice")
    assert event.conversation.kind is ConversationKind.CHANNEL
    assert event.conversation.id == "oc_team"


def test_the_event_id_is_the_header_event_id() -> None:
    event = message_event(message_payload("ou_alice", "oc_team", "hi", event_id="ev-9"))
    assert event is not None and event.id == "ev-9"


def test_a_p2p_message_is_a_dm() -> None:
    event = message_event(message_payload("ou_alice", "oc_p2p", "hi", chat_type="p2p"))
    assert event is not None and event.conversation.kind is ConversationKind.DM


def test_skill_typed_as_text_is_the_command() -> None:
    event = message_event(message_payload("ou_alice", "oc_team", "/skill optin model"))
    assert event is not None and event.kind is EventKind.COMMAND
    assert event.command is not None and (event.command.name, event.command.args) == (
        "optin",
        ("model",),
    )


def test_mentioning_the_bot_then_skill_is_the_command() -> None:
    payload = message_payload(
        "ou_alice", "oc_team", "@_user_1 skill mydata", mentions=[(BOT_OPEN_ID, "Apprentice")]
    )
    event = message_event(payload, BOT_OPEN_ID)
    assert event is not None and event.command is not None and event.command.name == "mydata"


def test_mentioning_someone_else_then_skill_is_not_a_command() -> None:
    payload = message_payload(
        "ou_alice", "oc_team", "@_user_1 skill mydata", mentions=[("ou_bob", "Bob")]
    )
    event = message_event(payload, BOT_OPEN_ID)
    assert event is not None and event.kind is EventKind.MESSAGE


def test_mention_placeholders_become_names_in_messages() -> None:
    payload = message_payload(
        "ou_alice",
        "oc_team",
        "thanks @_user_1 and @_user_2",
        mentions=[("ou_bob", "Bob"), ("ou_carol", "Carol")],
    )
    event = message_event(payload, BOT_OPEN_ID)
    assert event is not None and event.text == "thanks @Bob and @Carol"


def test_mentions_in_commands_become_open_ids() -> None:
    payload = message_payload(
        "ou_admin", "oc_team", "/skill admin revoke @_user_1", mentions=[("ou_alice", "Alice")]
    )
    event = message_event(payload, BOT_OPEN_ID)
    assert event is not None and event.command is not None
    assert event.command.args == ("revoke", "@ou_alice")


def test_a_rich_text_post_is_flattened() -> None:
    content = {
        "title": "Weekly report",
        "content": [
            [
                {"tag": "text", "text": "Done: "},
                {"tag": "a", "text": "invoices", "href": "https://x"},
            ],
            [
                {"tag": "at", "user_id": "@_user_1", "user_name": "Bob"},
                {"tag": "text", "text": " ok"},
            ],
            [{"tag": "img", "image_key": "img_1"}],
            [{"tag": "code_block", "language": "PYTHON", "text": "print(1)"}],
        ],
    }
    payload = message_payload(
        "ou_alice", "oc_team", message_type="post", content=content, mentions=[("ou_bob", "Bob")]
    )
    event = message_event(payload, BOT_OPEN_ID)
    assert event is not None
    assert event.text == "Weekly report\nDone: invoices\n@Bob ok\n\nprint(1)"


def test_a_post_keyed_by_language_is_flattened() -> None:
    content = {"en_us": {"title": "", "content": [[{"tag": "text", "text": "hello"}]]}}
    assert flatten("post", json.dumps(content)) == "hello"


def test_images_files_and_stickers_are_not_read() -> None:
    for kind in ("image", "file", "sticker", "audio", "interactive"):
        payload = message_payload("ou_alice", "oc_team", message_type=kind, content={"k": "v"})
        assert message_event(payload) is None


def test_messages_from_apps_are_marked_as_bots() -> None:
    event = message_event(message_payload("ou_app", "oc_team", "beep", sender_type="app"))
    assert event is not None and event.actor.is_bot


def test_a_recall_erases_the_message() -> None:
    event = recall_event(recall_payload("om_1", "oc_team"))
    assert event is not None and event.deleted and event.message_id == "om_1"
    assert event.kind is EventKind.MESSAGE


def test_a_card_click_is_an_action_with_our_id_value_and_the_card() -> None:
    sent = Sent(
        "om_card",
        "interactive",
        json.loads(card("Agree?", (Button("Agree", "consent.agree", "v1"),))),
    )
    event = card_action_event(card_action_payload("ou_alice", sent, "Agree"))
    assert event is not None and event.kind is EventKind.ACTION and event.action is not None
    assert (event.action.id, event.action.value, event.action.message_ref) == (
        "consent.agree",
        "v1",
        "om_card",
    )
    assert event.actor.id == "ou_alice" and event.conversation.kind is ConversationKind.DM


def test_a_card_click_without_our_action_id_is_ignored() -> None:
    payload = card_action_payload(
        "ou_alice",
        Sent("om", "interactive", json.loads(card("x", (Button("Go", "a", "v"),)))),
        "Go",
    )
    payload["event"]["action"]["value"] = {"other": "thing"}
    assert card_action_event(payload) is None


def test_malformed_payloads_are_ignored() -> None:
    assert message_event({}) is None
    assert message_event({"event": {"message": {"content": "not json"}}}) is None
    assert recall_event({"event": "x"}) is None


def test_bold_markup_becomes_lark_markdown() -> None:
    assert markdown("*Audit log* (last 2) `x*y`") == "**Audit log** (last 2) `x*y`"
