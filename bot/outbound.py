"""What leaves the bot: messages for the Outbox to hand to an adapter."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ButtonStyle(StrEnum):
    DEFAULT = "default"
    PRIMARY = "primary"
    DANGER = "danger"


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    action_id: str
    value: str = ""
    style: ButtonStyle = ButtonStyle.DEFAULT


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a message goes: a channel (optionally a thread), or a DM with one person."""

    channel_id: str | None = None
    dm_user_id: str | None = None
    thread_id: str | None = None
    reply_token: str | None = None  # a reply to a command: Conversation.reply_token

    @property
    def is_dm(self) -> bool:
        return self.dm_user_id is not None


@dataclass(frozen=True, slots=True)
class OutMessage:
    platform: str
    tenant: str
    to: Destination
    text: str
    buttons: tuple[Button, ...] = ()
    in_reply_to: str | None = None  # the Event.id that caused it (the console groups replies by it)
    about_user: str | None = None  # set when the text holds this person's data: DM to them only
    replace_ref: str | None = None  # platform id of a message to update instead of posting anew
    attachment_name: str | None = None  # e.g. "mydata.json": `attachment` is offered as a file
    attachment: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"OutMessage(platform={self.platform!r}, to={self.to!r}, buttons={len(self.buttons)})"
        )


@dataclass(frozen=True, slots=True)
class SentRef:
    """The platform's id of a message we sent (to edit it or remember a channel notice)."""

    platform: str
    message_id: str
    channel_id: str | None = None
