"""Slack payloads → Events (pure functions: no I/O, tested from documented payload shapes).

One normalizer serves the Events API (HTTP and Socket Mode alike), slash commands,
Block Kit button clicks and the messages of a workspace export.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.events import (
    COMMAND_WORD,
    Action,
    Actor,
    Command,
    Conversation,
    ConversationKind,
    Event,
    EventKind,
    command_from_args,
    parse_command_text,
)

PLATFORM = "slack"

# Subtypes that are a person writing; every other subtype is a system or bot message.
PERSON_SUBTYPES = frozenset({None, "thread_broadcast", "me_message", "file_share"})
CHANNEL_TYPES = {
    "channel": ConversationKind.CHANNEL,  # public channel
    "group": ConversationKind.CHANNEL,  # private channel
    "mpim": ConversationKind.GROUP,  # group DM: never observed
    "im": ConversationKind.DM,  # DM with the bot: commands only
}

_DM_WORD = re.compile(rf"^{COMMAND_WORD}(\s|$)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Profile:
    """What users.info says about a person (looked up by the transport, cached)."""

    name: str = ""
    locale: str | None = None
    is_bot: bool = False


def message_id(channel_id: str, ts: str) -> str:
    """Slack's `ts` is unique within a channel only: the channel makes it workspace-wide."""
    return f"{channel_id}:{ts}"


def split_message_id(ref: str) -> tuple[str, str] | None:
    channel, sep, ts = ref.partition(":")
    return (channel, ts) if sep and channel and ts else None


def unescape(text: str) -> str:
    """Slack escapes exactly these three characters in message and command text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def occurred_at(ts: object) -> datetime:
    try:
        return datetime.fromtimestamp(float(str(ts)), UTC)
    except (TypeError, ValueError, OverflowError):
        return datetime.now(UTC)


def author_of(body: Mapping[str, Any]) -> str | None:
    """The user id whose profile the transport should look up before normalizing."""
    if "command" in body:
        return _str(body.get("user_id"))
    if body.get("type") == "block_actions":
        return _str(_map(body.get("user")).get("id"))
    event = _map(body.get("event"))
    if event.get("subtype") == "message_changed":
        return _str(_map(event.get("message")).get("user"))
    return _str(event.get("user"))


# -- Events API ---------------------------------------------------------------------------


def from_event_callback(
    body: Mapping[str, Any], *, bot_user_id: str | None, profile: Profile | None = None
) -> Event | None:
    """An `event_callback` envelope → Event; None for what the bot does not act on."""
    if body.get("type") != "event_callback":
        return None
    event = _map(body.get("event"))
    tenant = _tenant_of_callback(body)
    event_id = _str(body.get("event_id"))
    if not tenant or not event_id:
        return None
    kind = event.get("type")
    if kind == "app_mention":
        return _mention(event, tenant, bot_user_id, profile)
    if kind != "message":
        return None
    channel = _str(event.get("channel"))
    if not channel:
        return None
    channel_type = _channel_type(event, channel)
    subtype = event.get("subtype")
    if subtype == "message_changed":
        return _edited(event, tenant, event_id, channel, channel_type, bot_user_id, profile)
    if subtype == "message_deleted":
        return _deleted(event, tenant, event_id, channel, channel_type)
    return message_event(
        event,
        tenant=tenant,
        event_id=event_id,
        channel_id=channel,
        channel_type=channel_type,
        bot_user_id=bot_user_id,
        profile=profile,
    )


def message_event(
    message: Mapping[str, Any],
    *,
    tenant: str,
    event_id: str,
    channel_id: str,
    channel_type: str,
    bot_user_id: str | None,
    profile: Profile | None = None,
    channel_name: str = "",
) -> Event | None:
    """A person's message (live or from an export) → MESSAGE or COMMAND; None otherwise."""
    if not is_person_message(message):
        return None
    user = _str(message.get("user"))
    ts = _str(message.get("ts"))
    if not user or not ts:
        return None
    kind = CHANNEL_TYPES.get(channel_type, ConversationKind.GROUP)
    text = unescape(_str(message.get("text")) or "")
    conversation = Conversation(
        id=channel_id, kind=kind, thread_id=_thread(message, ts), name=channel_name
    )
    command = _command_in(text, kind, bot_user_id)
    return Event(
        # A command typed as a message also arrives as `app_mention`: both get the same id,
        # so the bus runs it once.
        id=f"msg:{message_id(channel_id, ts)}" if command else event_id,
        platform=PLATFORM,
        tenant=tenant,
        kind=EventKind.COMMAND if command else EventKind.MESSAGE,
        actor=_actor(user, profile),
        conversation=conversation,
        occurred_at=occurred_at(ts),
        text=text,
        command=command,
        message_id=message_id(channel_id, ts),
        raw=message,
    )


def is_person_message(message: Mapping[str, Any]) -> bool:
    return (
        message.get("subtype") in PERSON_SUBTYPES
        and not message.get("bot_id")
        and not message.get("hidden")
    )


def _mention(
    event: Mapping[str, Any], tenant: str, bot_user_id: str | None, profile: Profile | None
) -> Event | None:
    channel = _str(event.get("channel"))
    user = _str(event.get("user"))
    ts = _str(event.get("ts"))
    if not channel or not user or not ts or event.get("bot_id"):
        return None
    kind = ConversationKind.DM if channel.startswith("D") else ConversationKind.CHANNEL
    text = unescape(_str(event.get("text")) or "")
    command = _command_in(text, kind, bot_user_id)
    if command is None:  # a mention that is not a command: the `message` event covers it
        return None
    return Event(
        id=f"msg:{message_id(channel, ts)}",
        platform=PLATFORM,
        tenant=tenant,
        kind=EventKind.COMMAND,
        actor=_actor(user, profile),
        conversation=Conversation(id=channel, kind=kind, thread_id=_thread(event, ts)),
        occurred_at=occurred_at(ts),
        text=text,
        command=command,
        message_id=message_id(channel, ts),
        raw=event,
    )


def _edited(
    event: Mapping[str, Any],
    tenant: str,
    event_id: str,
    channel: str,
    channel_type: str,
    bot_user_id: str | None,
    profile: Profile | None,
) -> Event | None:
    message = _map(event.get("message"))
    previous = _map(event.get("previous_message"))
    ts = _str(message.get("ts"))
    if not ts:
        return None
    if message.get("subtype") == "tombstone":  # a thread parent was deleted
        return _erase(tenant, event_id, channel, channel_type, ts, _str(previous.get("user")))
    if message.get("text") == previous.get("text"):  # a link unfurled: nothing was edited
        return None
    if CHANNEL_TYPES.get(channel_type) is not ConversationKind.CHANNEL:
        return None  # private conversations are never observed, so there is nothing to update
    edited = message_event(
        message,
        tenant=tenant,
        event_id=event_id,
        channel_id=channel,
        channel_type=channel_type,
        bot_user_id=bot_user_id,
        profile=profile,
    )
    if edited is None or edited.kind is not EventKind.MESSAGE:
        return None  # never re-run a command because someone fixed a typo in it
    return Event(
        id=event_id,
        platform=PLATFORM,
        tenant=tenant,
        kind=EventKind.MESSAGE,
        actor=edited.actor,
        conversation=edited.conversation,
        occurred_at=edited.occurred_at,
        text=edited.text,
        message_id=edited.message_id,
        edited=True,
        raw=event,
    )


def _deleted(
    event: Mapping[str, Any], tenant: str, event_id: str, channel: str, channel_type: str
) -> Event | None:
    ts = _str(event.get("deleted_ts"))
    if not ts:
        return None
    author = _str(_map(event.get("previous_message")).get("user"))
    return _erase(tenant, event_id, channel, channel_type, ts, author)


def _erase(
    tenant: str, event_id: str, channel: str, channel_type: str, ts: str, author: str | None
) -> Event:
    kind = CHANNEL_TYPES.get(channel_type, ConversationKind.GROUP)
    return Event(
        id=event_id,
        platform=PLATFORM,
        tenant=tenant,
        kind=EventKind.MESSAGE,
        actor=Actor(id=author or ""),  # never a bot: an erasure must not be skipped
        conversation=Conversation(id=channel, kind=kind),
        occurred_at=occurred_at(ts),
        message_id=message_id(channel, ts),
        deleted=True,
    )


# -- slash commands and buttons -------------------------------------------------------------


def from_slash_command(
    body: Mapping[str, Any], *, profile: Profile | None = None, reply_token: str | None = None
) -> Event | None:
    """A slash command's form fields → COMMAND.

    `reply_token` becomes the conversation's reply token, so the bot's reply to it comes
    back to the transport marked as an answer to this command (sent through `response_url`).
    """
    tenant = _str(body.get("team_id"))
    user = _str(body.get("user_id"))
    channel = _str(body.get("channel_id"))
    trigger = _str(body.get("trigger_id"))
    if not tenant or not user or not channel or not trigger:
        return None
    channel_name = _str(body.get("channel_name")) or ""
    if channel_name == "directmessage" or channel.startswith("D"):
        kind = ConversationKind.DM
    elif channel_name.startswith("mpdm-"):
        kind = ConversationKind.GROUP
    else:
        kind = ConversationKind.CHANNEL
    text = unescape(_str(body.get("text")) or "")
    name = profile.name if profile and profile.name else _str(body.get("user_name")) or ""
    return Event(
        id=f"cmd:{trigger}",
        platform=PLATFORM,
        tenant=tenant,
        kind=EventKind.COMMAND,
        actor=Actor(id=user, name=name, locale=profile.locale if profile else None),
        conversation=Conversation(
            id=channel,
            kind=kind,
            reply_token=reply_token if kind is not ConversationKind.DM else None,
            name="" if kind is ConversationKind.DM else channel_name,
        ),
        text=text,
        command=command_from_args(text),
        raw=dict(body),
    )


def from_block_actions(body: Mapping[str, Any], *, profile: Profile | None = None) -> Event | None:
    """A `block_actions` click on one of our buttons → ACTION."""
    if body.get("type") != "block_actions":
        return None
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], Mapping):
        return None
    clicked = actions[0]
    user = _map(body.get("user"))
    user_id = _str(user.get("id"))
    tenant = _str(_map(body.get("team")).get("id")) or _str(user.get("team_id"))
    action_id = _str(clicked.get("action_id"))
    if not user_id or not tenant or not action_id:
        return None
    container = _map(body.get("container"))
    channel = _str(container.get("channel_id")) or _str(_map(body.get("channel")).get("id")) or ""
    ts = _str(container.get("message_ts"))
    ref = message_id(channel, ts) if channel and ts and not container.get("is_ephemeral") else None
    kind = ConversationKind.DM if channel.startswith("D") else ConversationKind.CHANNEL
    name = profile.name if profile and profile.name else _str(user.get("name")) or ""
    unique = _str(body.get("trigger_id")) or f"{ts}:{_str(clicked.get('action_ts'))}"
    return Event(
        id=f"act:{unique}",
        platform=PLATFORM,
        tenant=tenant,
        kind=EventKind.ACTION,
        actor=Actor(id=user_id, name=name, locale=profile.locale if profile else None),
        conversation=Conversation(id=channel or user_id, kind=kind),
        action=Action(id=action_id, value=_str(clicked.get("value")) or "", message_ref=ref),
        raw=dict(body),
    )


# -- helpers --------------------------------------------------------------------------------


def _command_in(text: str, kind: ConversationKind, bot_user_id: str | None) -> Command | None:
    mentions = (f"<@{bot_user_id}>",) if bot_user_id else ()
    command = parse_command_text(text, bot_mentions=mentions)
    if command is None and kind is ConversationKind.DM and _DM_WORD.match(text.strip()):
        # In a DM with the bot, "skill optin" is clearly addressed to it.
        command = command_from_args(text.strip()[len(COMMAND_WORD) :])
    return command


def _actor(user: str, profile: Profile | None) -> Actor:
    if profile is None:
        return Actor(id=user)
    return Actor(id=user, name=profile.name, is_bot=profile.is_bot, locale=profile.locale)


def _thread(message: Mapping[str, Any], ts: str) -> str | None:
    thread = _str(message.get("thread_ts"))
    return thread if thread and thread != ts else None


def _channel_type(event: Mapping[str, Any], channel: str) -> str:
    given = _str(event.get("channel_type"))
    if given:
        return given
    return {"D": "im", "C": "channel", "G": "group"}.get(channel[:1], "mpim")


def _tenant_of_callback(body: Mapping[str, Any]) -> str | None:
    team = _str(body.get("team_id"))
    if team:
        return team
    authorizations = body.get("authorizations")
    if isinstance(authorizations, list) and authorizations:
        return _str(_map(authorizations[0]).get("team_id"))
    return None


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
