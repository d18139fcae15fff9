"""The Lark / Feishu adapter: receives over the long connection or webhooks, sends via the API.

lark-oapi is imported only when `run()` starts (in a worker thread: it takes seconds).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import importlib
from collections import deque
from typing import TYPE_CHECKING, Any

import structlog

from adapters.base import Capabilities, ChannelInfo, Emit, SendError
from adapters.lark import render
from adapters.lark.config import LarkConfig
from adapters.lark.dedupe import RecentEvents
from adapters.lark.normalize import PLATFORM
from bot.events import Event
from bot.logging import where
from bot.outbound import OutMessage, SentRef

if TYPE_CHECKING:
    from lark_oapi import EventDispatcherHandler, RawResponse

    from adapters.lark.api import LarkApi
    from adapters.lark.longconn import LongConnection

log = structlog.get_logger(__name__)

ACK_BUDGET = 2.0  # seconds to hand an event to the bus before acking anyway (Lark allows 3)
BACKOFF_START, BACKOFF_MAX = 1.0, 60.0
BOT_INFO_ATTEMPTS = 3
HELD_WEBHOOKS = 1000  # checked events kept while the SDK loads; beyond that Lark retries later
WEBHOOK_PATH = "/lark/events"

_webhook_events: contextvars.ContextVar[list[Event]] = contextvars.ContextVar("lark_webhook")


class LarkAdapter:
    name = PLATFORM
    capabilities = Capabilities(buttons=True, threads=True, ephemeral=False, edit=True, dm=True)

    def __init__(self, config: LarkConfig) -> None:
        self.config = config
        self._api: LarkApi | None = None
        self._emit: Emit | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._recent = RecentEvents()
        self._bot_open_id: str | None = None
        self._webhook_dispatcher: EventDispatcherHandler | None = None
        self._connection: LongConnection | None = None
        self._in_flight: set[asyncio.Future[Any]] = set()
        self._held: deque[tuple[bytes, dict[str, str]]] = deque()
        self.ready = asyncio.Event()

    # -- Adapter protocol --------------------------------------------------------------

    async def run(self, emit: Emit) -> None:
        self._emit = emit
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(_load_sdk)
        from adapters.lark.api import LarkApi  # noqa: PLC0415 - loaded just above
        from adapters.lark.dispatch import build_dispatcher  # noqa: PLC0415

        self._api = LarkApi(self.config)
        self._bot_open_id = await self._find_bot()
        if self.config.mode == "webhook":
            self._webhook_dispatcher = build_dispatcher(
                _collect,
                lambda: self._bot_open_id,
                encrypt_key=self.config.encrypt_key,
                verification_token=self.config.verification_token,
            )
            self.ready.set()  # from here web.py dispatches at once; first what it held
            await self._release_held()
            log.info("lark.webhook_ready", domain=self.config.domain)
            await asyncio.Event().wait()  # requests arrive through the web server (web.py)
        else:
            dispatcher = build_dispatcher(self._from_thread, lambda: self._bot_open_id)
            await self._long_connection(dispatcher)

    async def send(self, out: OutMessage) -> SentRef:
        api = self._require_api()
        if out.replace_ref:
            try:
                await api.patch_card(out.replace_ref, render.card(out.text, out.buttons))
                return SentRef(PLATFORM, out.replace_ref, out.to.channel_id)
            except SendError as exc:
                if exc.retry_after is not None:
                    raise
                log.info("lark.card_not_updated", message_id=out.replace_ref)  # post it anew
        msg_type, content = render.message(out)
        message_id, chat_id = await self._post(out, msg_type, content)
        if out.attachment_name and out.attachment is not None:
            await self._attach(out, out.attachment_name, out.attachment)
        return SentRef(PLATFORM, message_id, chat_id or out.to.channel_id)

    async def find_channel(self, tenant: str, ref: str) -> ChannelInfo | None:
        api = self._require_api()
        try:
            if ref.startswith("oc_"):
                name = await api.chat_name(ref)
                return ChannelInfo(ref, name or ref) if name is not None else None
            found = await api.find_chat(ref)
        except SendError:
            return None
        return ChannelInfo(*found) if found else None

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await asyncio.to_thread(connection.stop)
        for future in list(self._in_flight):
            future.cancel()

    # -- webhook mode (web.py calls these) ----------------------------------------------

    def hold_webhook(self, body: bytes, headers: dict[str, str]) -> bool:
        """Keep a checked request that came before the SDK was ready; False when full."""
        if len(self._held) >= HELD_WEBHOOKS:
            return False
        self._held.append((body, headers))
        return True

    async def receive_webhook(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """Dispatch a checked request through the SDK and publish its events; the answer."""
        response, events = self._dispatch_webhook(body, headers)
        for event in events:
            await self.hand_over(event)
        return response.status_code or 500, response.content or b""

    def _dispatch_webhook(
        self, body: bytes, headers: dict[str, str]
    ) -> tuple[RawResponse, list[Event]]:
        """Let the SDK decrypt, verify and dispatch a checked request; returns its events."""
        from lark_oapi import RawRequest  # noqa: PLC0415 - loaded before the adapter is ready

        assert self._webhook_dispatcher is not None
        request = RawRequest()
        request.uri, request.body, request.headers = WEBHOOK_PATH, body, headers
        events: list[Event] = []
        token = _webhook_events.set(events)
        try:
            return self._webhook_dispatcher.do(request), events
        finally:
            _webhook_events.reset(token)

    async def _release_held(self) -> None:
        """Dispatch, in arrival order, what came while the SDK was loading."""
        while self._held:
            body, headers = self._held.popleft()
            status, _ = await self.receive_webhook(body, headers)
            if status != 200:
                log.warning("lark.webhook_not_dispatched", status=status, held=True)

    async def hand_over(self, event: Event) -> None:
        """Publish an event once (Lark redelivers); wait at most ACK_BUDGET for the bus."""
        if not self._recent.first_time(event):
            log.info("lark.duplicate_event", event_id=event.id)
            return
        assert self._emit is not None
        future = asyncio.ensure_future(self._emit(event))
        self._in_flight.add(future)
        future.add_done_callback(self._published)
        await asyncio.wait({future}, timeout=ACK_BUDGET)  # the ack never waits for the outcome

    # -- internals ---------------------------------------------------------------------

    def _published(self, future: asyncio.Future[Any]) -> None:
        self._in_flight.discard(future)
        if not future.cancelled() and future.exception() is not None:
            exc = future.exception()
            assert exc is not None
            log.error("lark.publish_failed", error=type(exc).__name__, where=where(exc))

    def _from_thread(self, event: Event) -> None:
        """The long connection's sink (its own thread): hand over on the bot's loop, then ack."""
        assert self._loop is not None
        try:
            future = asyncio.run_coroutine_threadsafe(self.hand_over(event), self._loop)
            future.result(timeout=ACK_BUDGET + 1.0)
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError, RuntimeError):
            log.warning("lark.handover_slow", event_id=event.id)

    async def _long_connection(self, dispatcher: EventDispatcherHandler) -> None:
        from adapters.lark.longconn import LongConnection  # noqa: PLC0415 - SDK loaded in run()

        backoff = BACKOFF_START
        while True:
            connection = LongConnection(
                self.config.app_id, self.config.app_secret, self.config.domain, dispatcher
            )
            ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._connection = connection
            connection.start(ended)
            self.ready.set()
            try:
                await ended
            except asyncio.CancelledError:
                self._connection = None
                await asyncio.to_thread(connection.stop)
                raise
            _log_connection_end(connection.error, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _find_bot(self) -> str | None:
        assert self._api is not None
        for attempt in range(1, BOT_INFO_ATTEMPTS + 1):
            try:
                return await self._api.bot_open_id()
            except SendError as exc:
                if exc.retry_after is None or attempt == BOT_INFO_ATTEMPTS:
                    break
                await asyncio.sleep(exc.retry_after)
        log.warning(
            "lark.bot_unknown",
            hint="@-mentions of the bot are not recognised; `/skill …` typed as text still works",
        )
        return None

    async def _post(self, out: OutMessage, msg_type: str, content: str) -> tuple[str, str | None]:
        api = self._require_api()
        to = out.to
        if to.dm_user_id:
            return await api.create("open_id", to.dm_user_id, msg_type, content)
        if to.thread_id:
            return await api.reply(to.thread_id, msg_type, content)
        if not to.channel_id:
            raise SendError("a Lark message needs a chat or a person to go to")
        return await api.create("chat_id", to.channel_id, msg_type, content)

    async def _attach(self, out: OutMessage, name: str, content: str) -> None:
        """The file after its message; if it cannot be uploaded, its text as a message."""
        api = self._require_api()
        try:
            file_key = await api.upload_file(name, content.encode())
            await self._post(out, "file", render.file_message(file_key))
        except SendError:
            try:
                await self._post(out, "post", render.attachment_text(name, content))
            except SendError:
                log.error("lark.attachment_not_sent", file=name)

    def _require_api(self) -> LarkApi:
        if self._api is None:
            raise SendError("the Lark adapter is still starting", retry_after=1.0)
        return self._api


def _collect(event: Event) -> None:
    """The webhook dispatcher's sink: the request handler publishes what was collected."""
    _webhook_events.get().append(event)


def _load_sdk() -> None:
    for module in ("lark_oapi", "adapters.lark.api", "adapters.lark.dispatch"):
        importlib.import_module(module)
    importlib.import_module("adapters.lark.longconn")


def _log_connection_end(error: BaseException | None, backoff: float) -> None:
    code = getattr(error, "code", None)
    if error is not None and type(error).__name__ == "ClientException":
        log.error(
            "lark.ws.refused",
            code=code,
            retry_in=backoff,
            hint="check LARK_APP_ID, LARK_APP_SECRET and LARK_DOMAIN, and that the app uses "
            "'Receive events through persistent connection' in Events & Callbacks",
        )
    else:
        log.warning(
            "lark.ws.disconnected",
            error=type(error).__name__ if error else None,
            code=code,
            retry_in=backoff,
        )
