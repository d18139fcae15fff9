"""The console platform: a simulated workspace held in memory, served by the bot's web server.

It is the platform side, like Slack's servers: it keeps every message people post so the
page can show them. What the *bot* keeps goes through the bus and the ConsentGate like
any other platform's events.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters.base import Capabilities, ChannelInfo, Emit
from adapters.console.normalize import (
    DM_PREFIX,
    PLATFORM,
    Click,
    PostedMessage,
    click_event,
    dm_channel,
    message_event,
)
from bot.outbound import OutMessage, SentRef

DEMO_PEOPLE = ("admin", "alice", "bob", "carol", "dave")
DEMO_CHANNELS = ("team", "random")
BOT_USER = "Apprentice"
HISTORY_PER_CHANNEL = 2000
REPLY_WAIT_SECONDS = 60.0


@dataclass(slots=True)
class ConsoleMessage:
    id: str
    channel: str
    user: str
    text: str
    ts: str
    is_bot: bool = False
    buttons: list[dict[str, str]] = field(default_factory=list)
    attachment: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(eq=False)
class Subscription:
    """One live page: its queue of messages, and whether its stream must end."""

    queue: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=1000)
    )
    closed: bool = False


class ConsoleAdapter:
    name = PLATFORM
    capabilities = Capabilities(buttons=True, threads=False, ephemeral=False, edit=True, dm=True)

    def __init__(self) -> None:
        self._emit: Emit | None = None
        self._ready = asyncio.Event()
        self._history: dict[str, deque[ConsoleMessage]] = {
            name: deque(maxlen=HISTORY_PER_CHANNEL) for name in DEMO_CHANNELS
        }
        self._ids = itertools.count(1)
        self._captured: dict[str, list[ConsoleMessage]] = {}
        self._subscribers: set[Subscription] = set()

    # -- Adapter protocol --------------------------------------------------------------

    async def run(self, emit: Emit) -> None:
        self._emit = emit
        self._ready.set()
        await asyncio.Event().wait()  # nothing to connect to; live until cancelled

    async def send(self, out: OutMessage) -> SentRef:
        channel = dm_channel(out.to.dm_user_id) if out.to.dm_user_id else str(out.to.channel_id)
        buttons = [
            {"action_id": b.action_id, "value": b.value, "label": b.label, "style": b.style.value}
            for b in out.buttons
        ]
        attachment = (
            {"name": out.attachment_name, "content": out.attachment}
            if out.attachment_name and out.attachment is not None
            else None
        )
        replaced = self._find(channel, out.replace_ref) if out.replace_ref else None
        if replaced is not None:
            replaced.text, replaced.buttons, replaced.attachment = out.text, buttons, attachment
            message = replaced
            self._broadcast("update", message)
        else:
            message = self._append(
                channel, BOT_USER, out.text, is_bot=True, buttons=buttons, attachment=attachment
            )
        if out.in_reply_to in self._captured:
            self._captured[out.in_reply_to].append(message)
        return SentRef(platform=PLATFORM, message_id=message.id, channel_id=channel)

    async def find_channel(self, tenant: str, ref: str) -> ChannelInfo | None:
        if ref in self._history and not ref.startswith(DM_PREFIX):
            return ChannelInfo(id=ref, name=ref)
        return None

    async def aclose(self) -> None:
        self.close_streams()

    # -- what the web API calls --------------------------------------------------------

    async def post(
        self, posted: PostedMessage, occurred_at: datetime | None = None
    ) -> list[ConsoleMessage]:
        """Someone writes a message; returns the bot's messages caused by it."""
        message = self._append(posted.channel, posted.user, posted.text, ts=occurred_at)
        event = message_event(posted, uuid.uuid4().hex, message.id, occurred_at)
        return await self._deliver(event.id, event)

    async def click(self, click: Click) -> list[ConsoleMessage]:
        """Someone clicks a button the bot sent them."""
        ref = click.message_id or self._message_with_button(click)
        event = click_event(click, uuid.uuid4().hex, ref)
        return await self._deliver(event.id, event)

    def messages(self, channel: str) -> list[ConsoleMessage] | None:
        history = self._history.get(channel)
        return None if history is None else list(history)

    def channels(self) -> list[str]:
        return sorted(name for name in self._history if not name.startswith(DM_PREFIX))

    def subscribe(self) -> Subscription:
        subscription = Subscription()
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    def close_streams(self) -> None:
        """End every live stream (the web server is shutting down)."""
        for subscription in self._subscribers:
            subscription.closed = True
        self._subscribers.clear()

    # -- internals ---------------------------------------------------------------------

    async def _deliver(self, event_id: str, event: Any) -> list[ConsoleMessage]:
        await asyncio.wait_for(self._ready.wait(), REPLY_WAIT_SECONDS)
        assert self._emit is not None
        self._captured[event_id] = []
        try:
            delivery = await self._emit(event)
            await asyncio.wait_for(delivery, REPLY_WAIT_SECONDS)  # type: ignore[arg-type]
            return self._captured[event_id]
        finally:
            self._captured.pop(event_id, None)

    def _append(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        is_bot: bool = False,
        buttons: list[dict[str, str]] | None = None,
        attachment: dict[str, str] | None = None,
        ts: datetime | None = None,
    ) -> ConsoleMessage:
        message = ConsoleMessage(
            id=f"m{next(self._ids)}",
            channel=channel,
            user=user,
            text=text,
            ts=(ts or datetime.now(UTC)).isoformat(),
            is_bot=is_bot,
            buttons=buttons or [],
            attachment=attachment,
        )
        self._history.setdefault(channel, deque(maxlen=HISTORY_PER_CHANNEL)).append(message)
        self._broadcast("message", message)
        return message

    def _find(self, channel: str, message_id: str) -> ConsoleMessage | None:
        return next((m for m in self._history.get(channel, ()) if m.id == message_id), None)

    def _message_with_button(self, click: Click) -> str | None:
        for message in reversed(self._history.get(dm_channel(click.user), ())):
            for button in message.buttons:
                if button["action_id"] == click.action_id and button["value"] == click.value:
                    return message.id
        return None

    def _broadcast(self, kind: str, message: ConsoleMessage) -> None:
        for subscription in list(self._subscribers):
            if subscription.queue.full():  # a stalled page: end its stream, it reconnects
                subscription.closed = True
                self._subscribers.discard(subscription)
                continue
            subscription.queue.put_nowait({"type": kind, "message": message.to_json()})
