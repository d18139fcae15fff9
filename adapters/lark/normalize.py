"""Lark event payloads (the documented v2 envelope, as plain dicts) → Events. Pure functions."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from bot.events import (
    Action,
    Actor,
    Conversation,
    ConversationKind,
    Event,
    EventKind,
    parse_command_text,
)

PLATFORM = "lark"
MESSAGE_RECEIVED = "im.message.receive_v1"
MESSAGE_RECALLED = "im.message.recalled_v1"
CARD_ACTION = "card.action.trigger"
EVENT_TYPES = (MESSAGE_RECEIVED, MESSAGE_RECALLED, CARD_ACTION)

READABLE_TYPES = ("text", "post")  # images, files, audio, stickers and cards are never read
_PLACEHOLDER = re.compile(r"@_user_\d+")
_BOT = "@_apprentice_bot"  # what the bot's own mention becomes in command text


def message_event(payload: dict[str, Any], bot_open_id: str | None = None) -> Event | None:
    """`im.message.receive_v1` → a MESSAGE (group chats) or COMMAND; None when unreadable."""
    header = _dict(payload.get("header"))
    body = _dict(payload.get("event"))
    message, sender = _dict(body.get("message")), _dict(body.get("sender"))
    message_id = _str(message.get("message_id"))
    user = _str(_dict(sender.get("sender_id")).get("open_id"))
    kind = _str(message.get("message_type"))
    if not message_id or not user or kind not in READABLE_TYPES:
        return None
    raw = flatten(kind, _str(message.get("content")))
    if raw is None:
        return None
    mentions = {
        _str(m.get("key")): _dict(m) for m in message.get("mentions") or () if isinstance(m, dict)
    }
    command = parse_command_text(
        _resolve(raw, mentions, bot_open_id, for_command=True), bot_mentions=(_BOT,)
    )
    private = _str(message.get("chat_type")) == "p2p"
    conversation = Conversation(
        id=_str(message.get("chat_id")),
        kind=ConversationKind.DM if private else ConversationKind.CHANNEL,
        thread_id=_thread(message),
    )
    return Event(
        id=_str(header.get("event_id")) or message_id,
        platform=PLATFORM,
        tenant=_str(header.get("tenant_key")) or _str(sender.get("tenant_key")),
        kind=EventKind.COMMAND if command else EventKind.MESSAGE,
        actor=Actor(id=user, is_bot=_str(sender.get("sender_type"), "user") != "user"),
        conversation=conversation,
        occurred_at=_millis(message.get("create_time"), header.get("create_time")),
        text=_resolve(raw, mentions, bot_open_id, for_command=False),
        command=command,
        message_id=message_id,
        raw=payload,
    )


def recall_event(payload: dict[str, Any]) -> Event | None:
    """`im.message.recalled_v1` → a MESSAGE marked deleted, so whatever was kept is erased."""
    header = _dict(payload.get("header"))
    body = _dict(payload.get("event"))
    message_id = _str(body.get("message_id"))
    if not message_id:
        return None
    return Event(
        id=_str(header.get("event_id")) or f"recall:{message_id}",
        platform=PLATFORM,
        tenant=_str(header.get("tenant_key")),
        kind=EventKind.MESSAGE,
        actor=Actor(id=""),  # the recall event names no one; erasure needs only the message
        conversation=Conversation(id=_str(body.get("chat_id"))),
        occurred_at=_millis(body.get("recall_time"), header.get("create_time")),
        message_id=message_id,
        deleted=True,
        raw=payload,
    )


def card_action_event(payload: dict[str, Any]) -> Event | None:
    """`card.action.trigger` (a button on a card we sent) → an ACTION with our id and value."""
    header = _dict(payload.get("header"))
    body = _dict(payload.get("event"))
    operator, context = _dict(body.get("operator")), _dict(body.get("context"))
    value = _dict(_dict(body.get("action")).get("value"))
    user = _str(operator.get("open_id"))
    action_id = _str(value.get("action_id"))
    if not user or not action_id:
        return None
    message_ref = _str(context.get("open_message_id")) or None
    return Event(
        id=_str(header.get("event_id")) or f"card:{message_ref}:{user}",
        platform=PLATFORM,
        tenant=_str(header.get("tenant_key")) or _str(operator.get("tenant_key")),
        kind=EventKind.ACTION,
        actor=Actor(id=user),
        conversation=Conversation(
            id=_str(context.get("open_chat_id")) or user, kind=ConversationKind.DM
        ),
        occurred_at=_millis(header.get("create_time")),
        action=Action(id=action_id, value=_str(value.get("value")), message_ref=message_ref),
        raw=payload,
    )


def flatten(message_type: str, content: str) -> str | None:
    """A text or rich-text (post) message's content → plain text, placeholders kept."""
    try:
        parsed = json.loads(content)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    if message_type == "text":
        text = parsed.get("text")
        return text if isinstance(text, str) else None
    return _flatten_post(parsed)


def _flatten_post(post: dict[str, Any]) -> str:
    # Received posts carry {"title", "content"}; sent ones are keyed by language.
    if "content" not in post:
        post = next((_dict(v) for v in post.values() if isinstance(v, dict)), {})
    lines = [_str(post.get("title"))] if post.get("title") else []
    for paragraph in post.get("content") or ():
        if isinstance(paragraph, list):
            lines.append("".join(_element_text(_dict(e)) for e in paragraph))
    return "\n".join(lines).strip()


def _element_text(element: dict[str, Any]) -> str:
    tag = element.get("tag")
    if tag in ("text", "a", "md", "code_block"):
        return _str(element.get("text"))
    if tag == "at":
        user_id = _str(element.get("user_id"))
        if _PLACEHOLDER.fullmatch(user_id):
            return user_id  # resolved with the message's mentions like any placeholder
        return "@" + (_str(element.get("user_name")) or user_id)
    return ""  # images, media, emoji, rules: not text


def _resolve(
    text: str, mentions: dict[str, dict[str, Any]], bot_open_id: str | None, *, for_command: bool
) -> str:
    """Replace `@_user_N`: by the name in messages, by the open_id (or bot marker) in commands."""

    def replace(match: re.Match[str]) -> str:
        mention = mentions.get(match.group(0))
        if mention is None:
            return match.group(0)
        open_id = _str(_dict(mention.get("id")).get("open_id"))
        if for_command:
            return _BOT if bot_open_id and open_id == bot_open_id else "@" + (open_id or "")
        return "@" + (_str(mention.get("name")) or open_id)

    return _PLACEHOLDER.sub(replace, text)


def _thread(message: dict[str, Any]) -> str | None:
    """In a topic thread, replies go to its root message; elsewhere to the chat."""
    if not message.get("thread_id"):
        return None
    return _str(message.get("root_id")) or None


def _millis(*values: object) -> datetime:
    """The first value that is a time in milliseconds; now when none is."""
    for value in values:
        try:
            return datetime.fromtimestamp(int(str(value)) / 1000, UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            continue
    return datetime.now(UTC)


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: object, default: str = "") -> str:
    return value if isinstance(value, str) else default
