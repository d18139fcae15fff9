"""The Adapter protocol every platform implements, and the errors it may raise when sending."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from bot.events import Event
from bot.outbound import OutMessage, SentRef

Emit = Callable[[Event], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Capabilities:
    buttons: bool = True
    threads: bool = False
    ephemeral: bool = False
    edit: bool = False
    dm: bool = True


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    id: str
    name: str


class SendError(Exception):
    """The platform refused a message; `retry_after` is set when trying again may work."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@runtime_checkable
class Adapter(Protocol):
    name: str
    capabilities: Capabilities

    async def run(self, emit: Emit) -> None:
        """Connect, receive, ack and `emit` normalized events; reconnect; return when cancelled."""

    async def send(self, out: OutMessage) -> SentRef:
        """Deliver one message (raise SendError with retry_after on 429/5xx)."""

    async def find_channel(self, tenant: str, ref: str) -> ChannelInfo | None:
        """Resolve a channel mention/name/id typed by an admin, None when there is none."""

    async def aclose(self) -> None:
        """Release connections."""


# Each platform package (adapters/slack, adapters/lark, adapters/dingtalk) exposes
#     def build(settings: Settings, web_app: aiohttp.web.Application) -> Adapter
# which may add the platform's HTTP callback routes to the bot's web server.
