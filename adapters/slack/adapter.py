"""The Slack adapter: slack-bolt's AsyncApp over Socket Mode or HTTP.

Bolt verifies each HTTP request (signing secret, 5-minute window) before any listener
runs; listeners ack first, then look up the person (cached `users.info`), normalize and
emit. Sending lives in `send.py`, the HTTP route in `web.py`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import structlog
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.base import Capabilities, ChannelInfo, Emit
from adapters.slack import normalize
from adapters.slack.normalize import PLATFORM
from adapters.slack.send import SlackSender, error_code, retry_after_of
from adapters.slack.users import UserDirectory
from bot.events import Event
from bot.outbound import OutMessage, SentRef
from bot.settings import Settings

log = structlog.get_logger(__name__)

# The SDKs log request and response bodies at DEBUG and some payload fields at INFO: their
# logger stays at WARNING whatever the bot's level, so no message text reaches a log.
SDK_LOG = logging.getLogger("adapters.slack.sdk")
SDK_LOG.setLevel(logging.WARNING)

ACK_WITHIN = 1.5  # answer a slash command in the ack when it is this fast; else "working on it"
WORKING = "⏳ Working on it…"
SEEN_EVENTS = 10_000
CHANNEL_PAGES = 20
MAX_RATE_WAIT = 5.0
AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "account_inactive", "not_allowed_token_type"}
)
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")


class SlackAdapter:
    name = PLATFORM
    capabilities = Capabilities(buttons=True, threads=True, ephemeral=True, edit=True, dm=True)

    def __init__(self, settings: Settings) -> None:
        if settings.slack_bot_token is None:
            raise ValueError("SLACK_BOT_TOKEN is not set")
        self.socket_mode = settings.slack_app_token is not None
        self._app_token = (
            settings.slack_app_token.get_secret_value() if settings.slack_app_token else None
        )
        self.client = AsyncWebClient(
            token=settings.slack_bot_token.get_secret_value(),
            base_url=settings.slack_api_url,
            logger=SDK_LOG,
        )
        secret = settings.slack_signing_secret
        self.app = AsyncApp(
            client=self.client,
            signing_secret=secret.get_secret_value() if secret else "",
            logger=SDK_LOG,
            name="apprentice",
            # HTTP requests are verified; Socket Mode envelopes come over our own connection.
            request_verification_enabled=not self.socket_mode,
        )
        self._users = UserDirectory(self.client)
        self._emit: Emit | None = None
        self._ready = asyncio.Event()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._sender = SlackSender(self.client, SDK_LOG)
        self._work: set[asyncio.Future[Any]] = set()
        self._bot_user_id: str | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._register_listeners()

    # -- Adapter protocol ----------------------------------------------------------------

    async def run(self, emit: Emit) -> None:
        self._emit = emit
        self._ready.set()
        if await self._identify() and self.socket_mode:
            await self._run_socket_mode()
        await asyncio.Event().wait()  # HTTP mode: requests arrive on the bot's web server

    async def send(self, out: OutMessage) -> SentRef:
        return await self._sender.send(out)

    async def find_channel(self, tenant: str, ref: str) -> ChannelInfo | None:
        ref = ref.strip()
        if not ref:
            return None
        try:
            if _CHANNEL_ID.match(ref):
                response = await self._rate_limited(self.client.conversations_info, channel=ref)
                channel = response.get("channel") or {}
                if channel.get("is_im") or channel.get("is_mpim"):
                    return None
                return ChannelInfo(id=channel["id"], name=channel.get("name") or ref)
            return await self._channel_named(ref.lower())
        except SlackApiError as exc:
            log.info("slack.channel_not_found", error=error_code(exc))
            return None

    async def aclose(self) -> None:
        for work in list(self._work):
            work.cancel()
        if self._socket is not None:
            socket, self._socket = self._socket, None
            await socket.close_async()

    # -- receiving -----------------------------------------------------------------------

    def _register_listeners(self) -> None:
        every = re.compile(".*")

        async def on_event(body: dict[str, Any], context: Any, request: Any) -> None:
            # Bolt has acked already (events are acknowledged before the listener runs).
            event_id = str(body.get("event_id") or "")
            if event_id and not self._first_delivery(event_id):
                retry = (request.headers.get("x-slack-retry-num") or [None])[0]
                log.info("slack.retry_dropped", event_id=event_id, retry=retry)
                return
            bot_user_id = context.get("bot_user_id") or self._bot_user_id
            await self._normalize_and_emit(
                body,
                lambda profile: normalize.from_event_callback(
                    body, bot_user_id=bot_user_id, profile=profile
                ),
            )

        async def on_command(ack: Any, body: dict[str, Any]) -> None:
            work = self._spawn(self._run_command(body))
            done, _ = await asyncio.wait({work}, timeout=ACK_WITHIN)
            if work not in done:
                await ack(text=WORKING, response_type="ephemeral")
            elif work.cancelled() or work.exception() is not None:
                await ack(text="Sorry, that did not work on my side. Please try again.")
            else:
                await ack()  # the answer went out through response_url already

        async def on_action(ack: Any, body: dict[str, Any]) -> None:
            await ack()
            trigger = str(body.get("trigger_id") or "")
            if trigger and not self._first_delivery(f"act:{trigger}"):
                return
            await self._normalize_and_emit(
                body, lambda profile: normalize.from_block_actions(body, profile=profile)
            )

        self.app.event(every)(on_event)
        self.app.command(every)(on_command)
        self.app.action(every)(on_action)

    async def _run_command(self, body: dict[str, Any]) -> None:
        token = f"cmd:{body.get('trigger_id')}"
        if isinstance(body.get("response_url"), str):
            self._sender.remember_command(token, body)
        delivery = await self._normalize_and_emit(
            body,
            lambda profile: normalize.from_slash_command(body, profile=profile, reply_token=token),
        )
        if inspect.isawaitable(delivery):
            await delivery  # so the ack can tell a fast answer from a slow one

    async def _normalize_and_emit(
        self, body: Mapping[str, Any], make: Callable[[normalize.Profile | None], Event | None]
    ) -> object:
        if make(None) is None:  # not for us: skip the users.info lookup
            return None
        author = normalize.author_of(body)
        profile = await self._users.profile(author) if author else None
        event = make(profile)
        if event is None:
            return None
        if self._emit is None:
            await asyncio.wait_for(self._ready.wait(), timeout=30)
        assert self._emit is not None
        log.debug("slack.received", event_id=event.id, kind=event.kind.value)
        return await self._emit(event)

    def _first_delivery(self, key: str) -> bool:
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > SEEN_EVENTS:
            self._seen.popitem(last=False)
        return True

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Future[Any]:
        work = asyncio.ensure_future(coro)
        self._work.add(work)
        work.add_done_callback(self._finished)
        return work

    def _finished(self, work: asyncio.Future[Any]) -> None:
        self._work.discard(work)
        if not work.cancelled() and work.exception() is not None:
            exc = work.exception()
            log.error("slack.command_failed", error=type(exc).__name__)

    async def _identify(self) -> bool:
        """Check the tokens (with backoff while Slack is unreachable); False when rejected."""
        delay = 1.0
        while True:
            try:
                response = await self.client.auth_test()
                self._bot_user_id = response.get("user_id")
                if self.socket_mode and self._app_token:
                    await self.client.apps_connections_open(app_token=self._app_token)
                log.info(
                    "slack.ready",
                    team=response.get("team_id"),
                    bot_user=self._bot_user_id,
                    mode="socket" if self.socket_mode else "http",
                )
                return True
            except SlackApiError as exc:
                error = error_code(exc)
                if error in AUTH_ERRORS:
                    log.error("slack.token_rejected", error=error, fix=_token_advice(exc))
                    return False
                log.warning("slack.unavailable", error=error, retry_in=delay)
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                log.warning("slack.unreachable", error=type(exc).__name__, retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)

    async def _run_socket_mode(self) -> None:
        self._socket = AsyncSocketModeHandler(
            self.app, self._app_token, logger=SDK_LOG, web_client=self.client
        )
        try:
            await self._socket.connect_async()  # the SDK reconnects by itself from here on
            log.info("slack.connected", mode="socket")
            await asyncio.Event().wait()
        finally:
            if self._socket is not None:
                socket, self._socket = self._socket, None
                await socket.close_async()

    async def _channel_named(self, name: str) -> ChannelInfo | None:
        cursor: str | None = None
        for _ in range(CHANNEL_PAGES):
            response = await self._rate_limited(
                self.client.conversations_list,
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=1000,
                cursor=cursor,
            )
            for channel in response.get("channels") or []:
                if str(channel.get("name", "")).lower() == name:
                    return ChannelInfo(id=channel["id"], name=channel["name"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return None

    async def _rate_limited(self, call: Callable[..., Awaitable[Any]], **params: Any) -> Any:
        """One Web API call, retried once after a short Retry-After (for admin lookups)."""
        try:
            return await call(**params)
        except SlackApiError as exc:
            wait = retry_after_of(exc)
            if wait is None or wait > MAX_RATE_WAIT:
                raise
            await asyncio.sleep(wait)
            return await call(**params)


def _token_advice(exc: SlackApiError) -> str:
    url = getattr(exc.response, "api_url", "") or ""
    if "apps.connections.open" in str(url):
        return (
            "set SLACK_APP_TOKEN to the app-level token that starts with xapp- "
            "(Basic Information → App-Level Tokens, scope connections:write)"
        )
    return (
        "set SLACK_BOT_TOKEN to the bot token that starts with xoxb- "
        "(OAuth & Permissions → Bot User OAuth Token), and install the app to the workspace"
    )
