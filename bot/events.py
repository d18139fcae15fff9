"""The Event model: what every adapter normalizes a platform payload into."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

MAX_TEXT_CHARS = 40_000  # Slack's own limit for a message; longer input is refused, not cut.


class EventKind(StrEnum):
    MESSAGE = "message"
    COMMAND = "command"
    ACTION = "action"
    MEMBER_JOIN = "member_join"
    SYSTEM = "system"


class ConversationKind(StrEnum):
    CHANNEL = "channel"  # a channel or group chat the bot was added to: may be observed
    GROUP = "group"  # a multi-person private conversation (group DM): never observed
    DM = "dm"  # one person with the bot: never observed


@dataclass(frozen=True, slots=True)
class Actor:
    id: str
    name: str = ""
    is_bot: bool = False
    locale: str | None = None


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    kind: ConversationKind = ConversationKind.CHANNEL
    thread_id: str | None = None
    name: str = ""
    # Set by an adapter whose platform answers a command through its own channel (Slack's
    # response_url): replies to the command carry it back, posts and DMs do not.
    reply_token: str | None = None

    @property
    def is_private(self) -> bool:
        return self.kind is not ConversationKind.CHANNEL


@dataclass(frozen=True, slots=True)
class Command:
    """`/skill NAME args…`: `name` is the first word after `/skill` (lower-cased).

    `raw` is the text after the name, untouched (pasted code or notes keep their lines).
    """

    name: str
    args: tuple[str, ...] = ()
    raw: str = ""


@dataclass(frozen=True, slots=True)
class Action:
    """A button click: the `action_id` we rendered and its `value`."""

    id: str
    value: str = ""
    message_ref: str | None = None  # platform id of the message holding the button
    via: str = "button"  # how it was given: "button", or "text" for a typed answer


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    platform: str
    tenant: str
    kind: EventKind
    actor: Actor
    conversation: Conversation
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    text: str = ""
    command: Command | None = None
    action: Action | None = None
    message_id: str | None = None  # platform message id (edits/deletes refer to it)
    edited: bool = False
    deleted: bool = False
    imported: bool = False  # from a history export: needs the separate backfill consent
    raw: Any = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:  # never let message text reach a log through repr()
        return (
            f"Event(id={self.id!r}, platform={self.platform!r}, kind={self.kind.value!r}, "
            f"conversation={self.conversation.kind.value})"
        )


COMMAND_WORD = "skill"


def parse_command_text(text: str, *, bot_mentions: tuple[str, ...] = ()) -> Command | None:
    """Return the Command in `/skill …` (or `@bot skill …`) text, None when it is not one.

    Slack's slash command, a leading `/skill` typed in Lark, DingTalk or the console,
    and an @-mention of the bot followed by `skill` all reach the same Command. A message
    that starts by @-mentioning the bot is addressed to it, so it is a command even without
    `skill` (`@Apprentice help`): never an observation.
    """
    stripped = text.strip()
    for mention in bot_mentions:
        mentioned = stripped[: len(mention)].casefold() == mention.casefold()
        after = stripped[len(mention) :] if mentioned else None
        if after is not None and not _continues_a_name(after[:1]):
            return addressed_command(after)
    head, _, rest = stripped.partition(" ")
    if head.lower() != "/" + COMMAND_WORD:
        return None
    return command_from_args(rest)


def _continues_a_name(char: str) -> bool:
    """`@apprenticeship` is not a mention of `@apprentice`."""
    return bool(char) and (char.isalnum() or char in "_-")


def addressed_command(text: str) -> Command:
    """The command in text addressed to the bot (after its mention, or in a DingTalk @):
    `skill help`, `/skill help` and `help` alike; nothing at all asks for help."""
    rest = text.strip().lstrip(":,").strip()
    head, _, after = rest.partition(" ")
    if head.lower() in (COMMAND_WORD, "/" + COMMAND_WORD):
        rest = after
    return command_from_args(rest)


def command_from_args(rest: str) -> Command:
    """Build a Command from the text after `/skill` (Slack hands us exactly that).

    Plain whitespace split: pasted code or notes in `raw` may hold any quotes.
    """
    words = rest.split()
    if not words:
        return Command(name="help", args=(), raw="")
    after_name = rest.strip().split(None, 1)
    return Command(
        name=words[0].lower(),
        args=tuple(words[1:]),
        raw=after_name[1] if len(after_name) > 1 else "",
    )
