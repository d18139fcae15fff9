"""Events to and from JSON, for a bus that crosses process boundaries (the Redis bus).

Every field but `raw` is written: `raw` is the platform's payload, which is never stored.
The codec is explicit (no `asdict`), so a new Event field fails the round-trip test until
it is added here, instead of silently travelling, or silently not travelling.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson  # several times faster than json here: this runs for every event on the bus

from bot.events import Action, Actor, Command, Conversation, ConversationKind, Event, EventKind

VERSION = 1


class UndecodableEvent(ValueError):
    """The bytes are not an event this codec wrote (the message says which part is wrong)."""


def encode(event: Event) -> str:
    body: dict[str, Any] = {
        "v": VERSION,
        "id": event.id,
        "platform": event.platform,
        "tenant": event.tenant,
        "kind": event.kind.value,
        "actor": {
            "id": event.actor.id,
            "name": event.actor.name,
            "is_bot": event.actor.is_bot,
            "locale": event.actor.locale,
        },
        "conversation": {
            "id": event.conversation.id,
            "kind": event.conversation.kind.value,
            "thread_id": event.conversation.thread_id,
            "name": event.conversation.name,
            "reply_token": event.conversation.reply_token,
        },
        "occurred_at": _utc(event.occurred_at).isoformat(),
        "text": event.text,
        "command": None,
        "action": None,
        "message_id": event.message_id,
        "edited": event.edited,
        "deleted": event.deleted,
        "imported": event.imported,
    }
    if event.command is not None:
        body["command"] = {
            "name": event.command.name,
            "args": list(event.command.args),
            "raw": event.command.raw,
        }
    if event.action is not None:
        body["action"] = {
            "id": event.action.id,
            "value": event.action.value,
            "message_ref": event.action.message_ref,
            "via": event.action.via,
        }
    return orjson.dumps(body).decode()


def decode(data: str | bytes) -> Event:
    try:
        body = orjson.loads(data)
        if body.get("v") != VERSION:
            raise UndecodableEvent(f"codec version {body.get('v')!r}, expected {VERSION}")
        actor, conversation = body["actor"], body["conversation"]
        command, action = body["command"], body["action"]
        return Event(
            id=body["id"],
            platform=body["platform"],
            tenant=body["tenant"],
            kind=EventKind(body["kind"]),
            actor=Actor(
                id=actor["id"],
                name=actor["name"],
                is_bot=actor["is_bot"],
                locale=actor["locale"],
            ),
            conversation=Conversation(
                id=conversation["id"],
                kind=ConversationKind(conversation["kind"]),
                thread_id=conversation["thread_id"],
                name=conversation["name"],
                reply_token=conversation["reply_token"],
            ),
            occurred_at=_utc(datetime.fromisoformat(body["occurred_at"])),
            text=body["text"],
            command=None
            if command is None
            else Command(name=command["name"], args=tuple(command["args"]), raw=command["raw"]),
            action=None
            if action is None
            else Action(
                id=action["id"],
                value=action["value"],
                message_ref=action["message_ref"],
                via=action["via"],
            ),
            message_id=body["message_id"],
            edited=body["edited"],
            deleted=body["deleted"],
            imported=body["imported"],
        )
    except UndecodableEvent:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # never echo the data
        raise UndecodableEvent(f"not an encoded event ({type(exc).__name__})") from None


def _utc(moment: datetime) -> datetime:
    """Aware and in UTC; a naive time is taken to be UTC already (adapters write UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
