"""Console payloads → Events (pure functions; the console is a platform like any other)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.events import (
    MAX_TEXT_CHARS,
    Action,
    Actor,
    Conversation,
    ConversationKind,
    Event,
    EventKind,
    parse_command_text,
)

PLATFORM = "console"
TENANT = "local"
BOT_NAME = "apprentice"
DM_PREFIX = "dm:"

_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_CHANNEL = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")


class BadRequest(ValueError):
    """The payload is wrong; the message says what to send instead."""


@dataclass(frozen=True, slots=True)
class PostedMessage:
    user: str
    channel: str
    text: str
    locale: str | None = None


@dataclass(frozen=True, slots=True)
class Click:
    user: str
    action_id: str
    value: str
    message_id: str | None = None
    locale: str | None = None


def dm_channel(user: str) -> str:
    return DM_PREFIX + user


def parse_message(payload: object) -> PostedMessage:
    body = _object(payload)
    user = _user(body)
    channel = _string(body, "channel")
    if channel.startswith(DM_PREFIX):
        if channel != dm_channel(user):
            raise BadRequest(
                f"{user} can only write in their own DM with the bot: {dm_channel(user)}"
            )
    elif not _CHANNEL.match(channel):
        raise BadRequest(
            "channel must be a lower-case name of letters, digits, - or _ (up to 80), "
            'or "dm:<user>" for a DM with the bot'
        )
    text = _string(body, "text")
    if not text.strip():
        raise BadRequest("text is empty: write something")
    if len(text) > MAX_TEXT_CHARS:
        raise BadRequest(
            f"text is too long: {len(text)} characters; the limit is {MAX_TEXT_CHARS}. "
            "Split it into several messages."
        )
    return PostedMessage(user=user, channel=channel, text=text, locale=_locale(body))


def parse_click(payload: object) -> Click:
    body = _object(payload)
    message_id = body.get("message_id")
    if message_id is not None and not isinstance(message_id, str):
        raise BadRequest("message_id must be a string when given")
    value = body.get("value", "")
    if not isinstance(value, str):
        raise BadRequest("value must be a string")
    return Click(
        user=_user(body),
        action_id=_string(body, "action_id"),
        value=value,
        message_id=message_id,
        locale=_locale(body),
    )


def message_event(
    posted: PostedMessage, event_id: str, message_id: str, occurred_at: datetime | None = None
) -> Event:
    is_dm = posted.channel.startswith(DM_PREFIX)
    conversation = Conversation(
        id=posted.channel,
        kind=ConversationKind.DM if is_dm else ConversationKind.CHANNEL,
        name=posted.channel,
    )
    command = parse_command_text(posted.text, bot_mentions=(f"@{BOT_NAME}",))
    return Event(
        id=event_id,
        platform=PLATFORM,
        tenant=TENANT,
        kind=EventKind.COMMAND if command else EventKind.MESSAGE,
        actor=Actor(id=posted.user, name=posted.user, locale=posted.locale),
        conversation=conversation,
        occurred_at=occurred_at or datetime.now(UTC),
        text=posted.text,
        command=command,
        message_id=message_id,
    )


def click_event(click: Click, event_id: str, message_ref: str | None) -> Event:
    return Event(
        id=event_id,
        platform=PLATFORM,
        tenant=TENANT,
        kind=EventKind.ACTION,
        actor=Actor(id=click.user, name=click.user, locale=click.locale),
        conversation=Conversation(id=dm_channel(click.user), kind=ConversationKind.DM),
        action=Action(id=click.action_id, value=click.value, message_ref=message_ref),
    )


def _object(payload: object) -> dict[str, object]:
    if not isinstance(payload, dict):
        raise BadRequest("send a JSON object")
    return payload


def _string(body: dict[str, object], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise BadRequest(f'"{key}" is required and must be a string')
    return value


def _user(body: dict[str, object]) -> str:
    user = _string(body, "user")
    if not _USER.match(user):
        raise BadRequest(
            "user must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return user


def _locale(body: dict[str, object]) -> str | None:
    locale = body.get("locale")
    if locale is None:
        return None
    if not isinstance(locale, str) or len(locale) > 16:
        raise BadRequest('locale must be a short string such as "en" or "zh-CN"')
    return locale
