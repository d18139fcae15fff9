"""DingTalk Stream payloads → Events (pure functions; no SDK, no I/O).

Chatbot messages (topic `/v1.0/im/bot/messages/get`) become MESSAGE or COMMAND events:
conversationType "2" is a group the bot was added to (it may be observed), "1" is one
person with the bot (only ever read as commands). Card button callbacks (topic
`/v1.0/card/instances/callback`) become ACTION events.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from bot.events import (
    COMMAND_WORD,
    MAX_TEXT_CHARS,
    Action,
    Actor,
    Command,
    Conversation,
    ConversationKind,
    Event,
    EventKind,
    addressed_command,
    command_from_args,
    parse_command_text,
)

PLATFORM = "dingtalk"
CHATBOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_CALLBACK_TOPIC = "/v1.0/card/instances/callback"
ONE_TO_ONE = "1"
GROUP = "2"
GROUP_SPACE = "IM_GROUP"


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A normalized chatbot message and what the adapter needs to answer it."""

    event: Event
    session_webhook: str | None = None
    webhook_expires_at: datetime | None = None
    group_title: str = ""


def chat_message(data: Mapping[str, Any]) -> ChatMessage | None:
    """A chatbot message → ChatMessage; None for what is not text or lacks its ids."""
    msg_id = _str(data.get("msgId"))
    conversation_id = _str(data.get("conversationId"))
    tenant = _str(data.get("chatbotCorpId")) or _str(data.get("senderCorpId"))
    user = _str(data.get("senderStaffId")) or _str(data.get("senderId"))
    kind = _conversation_kind(data.get("conversationType"))
    text = message_text(data)
    if not (msg_id and conversation_id and tenant and user) or kind is None or text is None:
        return None
    in_group = kind is ConversationKind.CHANNEL
    addressed = not in_group or data.get("isInAtList") is True
    if len(text) > MAX_TEXT_CHARS or not (text.strip() or in_group and addressed):
        return None  # a bare @Apprentice in a group is kept: it asks for help
    title = _str(data.get("conversationTitle"))
    command = command_in(text, addressed=addressed, in_group=in_group)
    if command is not None:
        command = with_mentioned_ids(command, data)
    event = Event(
        id=msg_id,
        platform=PLATFORM,
        tenant=tenant,
        kind=EventKind.COMMAND if command else EventKind.MESSAGE,
        actor=Actor(id=user, name=_str(data.get("senderNick"))),
        conversation=Conversation(id=conversation_id, kind=kind, name=title),
        occurred_at=_millis(data.get("createAt")),
        text=text,
        command=command,
        message_id=msg_id,
    )
    webhook = _str(data.get("sessionWebhook")) or None
    return ChatMessage(
        event=event,
        session_webhook=webhook,
        webhook_expires_at=_millis_or_none(data.get("sessionWebhookExpiredTime")),
        group_title=title if kind is ConversationKind.CHANNEL else "",
    )


def message_text(data: Mapping[str, Any]) -> str | None:
    """The text of a text or rich-text message; None for pictures, voice, files and the rest."""
    msgtype = data.get("msgtype")
    if msgtype == "text":
        text = data.get("text")
        content = text.get("content") if isinstance(text, Mapping) else None
        return content if isinstance(content, str) else None
    if msgtype == "richText":
        content = data.get("content")
        parts = content.get("richText") if isinstance(content, Mapping) else None
        if not isinstance(parts, list):
            return None
        texts = [
            p["text"] for p in parts if isinstance(p, Mapping) and isinstance(p.get("text"), str)
        ]
        return "".join(texts) if texts else None
    return None


def command_in(text: str, *, addressed: bool, in_group: bool = False) -> Command | None:
    """`/skill …` anywhere it is typed; in a group, any message that @-mentions the bot.

    DingTalk removes the bot's own @-mention from `text.content` (`@Apprentice help`
    arrives as " help"), so a group message with the bot in its at-list is addressed to
    it: a command (`skill` before the name is optional), never an observation. In a
    one-to-one chat only `skill …` / `/skill …` is one (other text gets a polite answer).
    """
    command = parse_command_text(text)
    if command is not None or not addressed:
        return command
    words = text.split(None, 1)
    if words and words[0].startswith("@"):  # a client that kept the mention in the text
        text = words[1] if len(words) > 1 else ""
    if in_group:
        return addressed_command(text)
    words = text.split(None, 1)
    if words and words[0].lower() == COMMAND_WORD:
        return command_from_args(words[1] if len(words) > 1 else "")
    return None


def with_mentioned_ids(command: Command, data: Mapping[str, Any]) -> Command:
    """`@Alice` in a command → `@alice001`: DingTalk keeps other people's nicks in the text
    and lists their staff ids, in order, in `atUsers` (the bot's own entry has none)."""
    robot = _str(data.get("chatbotUserId"))
    listed = data.get("atUsers")
    staff = [
        _str(u.get("staffId"))
        for u in (listed if isinstance(listed, list) else [])
        if isinstance(u, Mapping) and _str(u.get("dingtalkId")) != robot
    ]
    at_words = [i for i, word in enumerate(command.args) if word.startswith("@")]
    if not at_words or len(at_words) != len(staff) or not all(staff):
        return command
    args = list(command.args)
    raw = command.raw
    for index, staff_id in zip(at_words, staff, strict=True):
        raw = raw.replace(args[index], "@" + staff_id, 1)
        args[index] = "@" + staff_id
    return Command(name=command.name, args=tuple(args), raw=raw)


def card_action(data: Mapping[str, Any], frame_id: str) -> Event | None:
    """A card button callback → ACTION event; None when it names no button or person."""
    tenant = _str(data.get("corpId"))
    user = _str(data.get("userId"))
    content = _json_object(data.get("content"))
    private = content.get("cardPrivateData") if content else None
    if not (tenant and user and frame_id) or not isinstance(private, Mapping):
        return None
    given = private.get("params")
    params: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    action_ids = private.get("actionIds")
    action_id = _str(params.get("action_id"))
    if not action_id and isinstance(action_ids, list) and action_ids:
        action_id = _str(action_ids[0])
    if not action_id:
        return None
    value = params.get("value", "")
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    space_id = _str(data.get("spaceId"))
    in_group = data.get("spaceType") == GROUP_SPACE and bool(space_id)
    conversation = Conversation(
        id=space_id if in_group else space_id or f"dm:{user}",
        kind=ConversationKind.CHANNEL if in_group else ConversationKind.DM,
    )
    return Event(
        id=f"card:{frame_id}",
        platform=PLATFORM,
        tenant=tenant,
        kind=EventKind.ACTION,
        actor=Actor(id=user),
        conversation=conversation,
        action=Action(id=action_id, value=value, message_ref=_str(data.get("outTrackId")) or None),
    )


def _conversation_kind(value: object) -> ConversationKind | None:
    if value == GROUP:
        return ConversationKind.CHANNEL
    if value == ONE_TO_ONE:
        return ConversationKind.DM
    return None


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _millis(value: object) -> datetime:
    return _millis_or_none(value) or datetime.now(UTC)


def _millis_or_none(value: object) -> datetime | None:
    """DingTalk times are epoch milliseconds, as numbers or digit strings."""
    if _is_number(value) or (isinstance(value, str) and value.isdigit()):
        try:
            return datetime.fromtimestamp(int(cast("int | float | str", value)) / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def _json_object(value: object) -> Mapping[str, Any] | None:
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, Mapping) else None
    return None
