"""The Stream connection, on the real dingtalk-stream client, with backoff and a clean stop.

Import this module only after DINGTALK_OPENAPI_ENDPOINT is set (adapters.dingtalk.adapter
does): the SDK reads it once, at import.

dingtalk-stream 0.24.3's `start()` never returns, swallows cancellation, opens the
connection with a blocking `requests.post` on the event loop and sleeps 10 s after a drop.
So this module keeps the SDK's parts — credentials, `open_connection()`, frame classes,
handlers and the acks they build — and runs its own loop around them: the blocking call
runs in a daemon thread, each frame is acked on the socket it came from as soon as its
handler returns (handlers only queue the work), drops reconnect with capped exponential
backoff, and cancelling `run()` closes the socket and returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import quote_plus

import structlog
import websockets
from dingtalk_stream import (
    AckMessage,
    CallbackHandler,
    CallbackMessage,
    ChatbotMessage,
    Credential,
    DingTalkStreamClient,
    EventHandler,
    EventMessage,
    SystemMessage,
)
from dingtalk_stream.frames import Headers

from adapters.dingtalk.normalize import CARD_CALLBACK_TOPIC
from bot.logging import where

log = structlog.get_logger(__name__)

T = TypeVar("T")
OnChat = Callable[[dict[str, Any]], Awaitable[None]]
OnCard = Callable[[dict[str, Any], str], Awaitable[None]]

OPEN_CONNECTION_PATH = "/v1.0/gateway/connections/open"
MAX_FRAME_BYTES = 4 * 1024 * 1024
CLOSE_TIMEOUT = 2.0
CONNECT_HINT = (
    "check DINGTALK_CLIENT_ID / DINGTALK_CLIENT_SECRET, that the app's robot uses Stream mode, "
    "and that DINGTALK_OPENAPI_ENDPOINT is reachable"
)


def point_sdk_at(endpoint: str) -> None:
    """Make the SDK use `endpoint` even if it was first imported with another one.

    dingtalk-stream copies DINGTALK_OPENAPI_ENDPOINT into each module and into the class
    attribute OPEN_CONNECTION_API at import; a second adapter in the same process (tests)
    may name another endpoint.
    """
    endpoint = endpoint.rstrip("/")
    DingTalkStreamClient.OPEN_CONNECTION_API = endpoint + OPEN_CONNECTION_PATH
    for name, module in list(sys.modules.items()):
        if name.startswith("dingtalk_stream") and hasattr(module, "DINGTALK_OPENAPI_ENDPOINT"):
            vars(module)["DINGTALK_OPENAPI_ENDPOINT"] = endpoint


class Backoff:
    """Capped exponential delays with jitter; `reset()` once a connection works."""

    def __init__(self, initial: float = 0.5, maximum: float = 30.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self._next = initial

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.maximum)
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self._next = self.initial


class StreamConnection:
    """One Stream-mode connection to DingTalk, kept open until `run()` is cancelled."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        on_chat: OnChat,
        on_card: OnCard,
        backoff: Backoff | None = None,
    ) -> None:
        sdk_logger = logging.getLogger("adapters.dingtalk.sdk")
        self.client = DingTalkStreamClient(Credential(client_id, client_secret), logger=sdk_logger)
        self.client.register_callback_handler(ChatbotMessage.TOPIC, _ChatbotHandler(on_chat))
        self.client.register_callback_handler(CARD_CALLBACK_TOPIC, _CardHandler(on_card))
        self.client.register_all_event_handler(_EventHandler())
        self._backoff = backoff or Backoff()
        self._websocket: websockets.ClientConnection | None = None

    async def run(self) -> None:
        """Connect, receive and ack; reconnect after drops; return when cancelled."""
        self.client.pre_start()
        while True:
            try:
                await self._connect_once()
            except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                log.warning("dingtalk.connection_lost", error=type(exc).__name__)
            await asyncio.sleep(self._backoff.next())

    async def close(self) -> None:
        websocket = self._websocket
        if websocket is not None:
            await websocket.close()

    async def _connect_once(self) -> None:
        connection = await run_blocking(self.client.open_connection)
        endpoint = connection.get("endpoint") if isinstance(connection, dict) else None
        ticket = connection.get("ticket") if isinstance(connection, dict) else None
        if not isinstance(endpoint, str) or not isinstance(ticket, str):
            log.warning("dingtalk.connect_refused", hint=CONNECT_HINT)
            return
        uri = f"{endpoint}?ticket={quote_plus(ticket)}"
        async with websockets.connect(
            uri, max_size=MAX_FRAME_BYTES, close_timeout=CLOSE_TIMEOUT
        ) as websocket:
            self._websocket = websocket
            log.info("dingtalk.connected")
            try:
                async for raw in websocket:
                    self._backoff.reset()  # a frame arrived: this connection works
                    if await self._route(websocket, raw):
                        await websocket.close()  # DingTalk asked us to reconnect
            finally:
                self._websocket = None
        log.info("dingtalk.disconnected")

    async def _route(self, websocket: websockets.ClientConnection, raw: str | bytes) -> bool:
        """Hand one frame to its SDK handler and send the handler's ack; True on `disconnect`."""
        try:
            frame = json.loads(raw)
        except ValueError:
            log.warning("dingtalk.frame_unreadable")
            return False
        if not isinstance(frame, dict):
            return False
        try:
            ack, disconnect = await self._dispatch(frame)
        except Exception as exc:  # a malformed frame or a bug: ack it as failed, keep going
            log.error("dingtalk.frame_failed", error=type(exc).__name__, where=where(exc))
            ack, disconnect = _ack(frame, AckMessage.STATUS_SYSTEM_EXCEPTION), False
        if ack is not None:
            await websocket.send(json.dumps(ack.to_dict()))
        return disconnect

    async def _dispatch(self, frame: dict[str, Any]) -> tuple[AckMessage | None, bool]:
        kind = frame.get("type")
        if kind == SystemMessage.TYPE:
            system = SystemMessage.from_dict(frame)
            ack = await self.client.system_handler.raw_process(system)
            return ack, system.headers.topic == SystemMessage.TOPIC_DISCONNECT
        if kind == EventMessage.TYPE:
            return await self.client.event_handler.raw_process(EventMessage.from_dict(frame)), False
        if kind == CallbackMessage.TYPE:
            callback = CallbackMessage.from_dict(frame)
            handler = self.client.callback_handler_map.get(callback.headers.topic)
            if handler is None:
                log.warning("dingtalk.unknown_topic", topic=callback.headers.topic)
                return _ack(frame, AckMessage.STATUS_NOT_IMPLEMENT), False
            return await handler.raw_process(callback), False
        log.warning("dingtalk.unknown_frame", frame_type=str(kind)[:32])
        return None, False


class _ChatbotHandler(CallbackHandler):
    """Robot messages: queue the payload and ack at once (the bot works after the ack)."""

    def __init__(self, on_chat: OnChat) -> None:
        super().__init__()
        self._on_chat = on_chat

    async def process(self, message: CallbackMessage) -> tuple[int, str]:
        data = message.data if isinstance(message.data, dict) else {}
        await self._on_chat(data)
        return AckMessage.STATUS_OK, "OK"


class _CardHandler(CallbackHandler):
    """Card button callbacks: queue the click; the card is updated when the bot answers."""

    def __init__(self, on_card: OnCard) -> None:
        super().__init__()
        self._on_card = on_card

    async def process(self, message: CallbackMessage) -> tuple[int, dict[str, Any]]:
        data = message.data if isinstance(message.data, dict) else {}
        await self._on_card(data, message.headers.message_id or "")
        return AckMessage.STATUS_OK, {}


class _EventHandler(EventHandler):
    """Event subscriptions: nothing Apprentice uses yet; ack so DingTalk stops resending."""

    async def process(self, event: EventMessage) -> tuple[int, str]:
        log.debug("dingtalk.event_ignored", event_type=event.headers.event_type)
        return AckMessage.STATUS_OK, "OK"


def _ack(frame: dict[str, Any], code: int) -> AckMessage | None:
    headers = frame.get("headers")
    message_id = headers.get("messageId") if isinstance(headers, dict) else None
    if not isinstance(message_id, str):
        return None
    ack = AckMessage()
    ack.code = code
    ack.headers.message_id = message_id
    ack.headers.content_type = Headers.CONTENT_TYPE_APPLICATION_JSON
    ack.message = "failed" if code != AckMessage.STATUS_OK else "OK"
    return ack


async def run_blocking(function: Callable[[], T]) -> T:
    """Run a blocking call in a daemon thread, so a hung request never holds up shutdown."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def target() -> None:
        try:
            result, error = function(), None
        except Exception as exc:  # handed to the awaiting coroutine
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody listens
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=target, name="dingtalk-blocking", daemon=True).start()
    return await future
