"""Sending to Slack: DMs, Block Kit buttons, in-place updates, files, and slash-command answers.

Slack's refusals become SendError: 429 carries Retry-After and 5xx a short wait, so the
Outbox retries; anything else is final. Errors name Slack's error code, never the text.
"""

from __future__ import annotations

import logging
import re
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.base import SendError
from adapters.slack import normalize, render
from adapters.slack.normalize import PLATFORM
from bot.outbound import Destination, OutMessage, SentRef

log = structlog.get_logger(__name__)

RESPONSE_URL_USES = 5  # Slack's limit per response_url
RESPONSE_URL_SECONDS = 29 * 60  # valid for 30 minutes
RESPONDERS = 5_000
UPDATE_GONE = frozenset(
    {"message_not_found", "cant_update_message", "edit_window_closed", "channel_not_found"}
)
_THREAD_TS = re.compile(r"^\d+\.\d+$")


@dataclass(slots=True)
class _Responder:
    """Where the answer to one slash command goes: its response_url, while it lasts."""

    channel_id: str
    user_id: str
    url: str
    expires: float
    uses: int = field(default=0)


class SlackSender:
    def __init__(self, client: AsyncWebClient, sdk_logger: logging.Logger) -> None:
        self.client = client
        self._sdk_logger = sdk_logger
        self._responders: OrderedDict[str, _Responder] = OrderedDict()
        self._dm_channels: dict[str, str] = {}

    async def send(self, out: OutMessage) -> SentRef:
        try:
            return await self._send(out)
        except SlackApiError as exc:
            raise send_error(exc) from None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise SendError(f"Slack unreachable ({type(exc).__name__})", retry_after=2) from None

    def remember_command(self, token: str, body: Mapping[str, Any]) -> None:
        """A slash command's response_url: replies marked with `token` go there."""
        self._responders[token] = _Responder(
            channel_id=str(body.get("channel_id") or ""),
            user_id=str(body.get("user_id") or ""),
            url=str(body["response_url"]),
            expires=time.monotonic() + RESPONSE_URL_SECONDS,
        )
        while len(self._responders) > RESPONDERS:
            self._responders.popitem(last=False)

    async def _send(self, out: OutMessage) -> SentRef:
        responder = self._responder_for(out)
        if responder is not None:
            sent = await self._respond(responder, out)
            if sent is not None:
                return sent
            # The response_url expired or was used up: the person still gets the answer.
            out_to = Destination(dm_user_id=responder.user_id)
            return await self._post(out, out_to)
        if out.replace_ref:
            updated = await self._update(out)
            if updated is not None:
                return updated
        return await self._post(out, out.to)

    def _responder_for(self, out: OutMessage) -> _Responder | None:
        token = out.to.reply_token
        if not token or out.to.is_dm or out.replace_ref:
            return None
        responder = self._responders.get(token)
        if responder is None or responder.channel_id != out.to.channel_id:
            return None
        return responder

    async def _respond(self, responder: _Responder, out: OutMessage) -> SentRef | None:
        if responder.uses >= RESPONSE_URL_USES or time.monotonic() > responder.expires:
            return None
        responder.uses += 1
        text = out.text
        if out.attachment_name and out.attachment is not None:
            text = f"{text}\n{render.code_block(out.attachment_name, out.attachment)}"
        webhook = AsyncWebhookClient(responder.url, logger=self._sdk_logger)
        response = await webhook.send(
            text=render.fallback_text(text),
            blocks=render.blocks(text, out.buttons) if out.buttons else None,
            response_type="ephemeral",
        )
        if response.status_code == 429:
            retry_after = float(response.headers.get("Retry-After", "1") or 1)
            responder.uses -= 1
            raise SendError("Slack rate limited response_url", retry_after=retry_after)
        if response.status_code != 200:
            log.info("slack.response_url_refused", status=response.status_code)
            return None
        return SentRef(platform=PLATFORM, message_id="", channel_id=responder.channel_id)

    async def _update(self, out: OutMessage) -> SentRef | None:
        target = normalize.split_message_id(out.replace_ref or "")
        if target is None:
            return None
        channel, ts = target
        try:
            await self.client.chat_update(
                channel=channel,
                ts=ts,
                text=render.fallback_text(out.text),
                blocks=render.blocks(out.text, out.buttons),  # [] of buttons removes them
            )
        except SlackApiError as exc:
            if error_code(exc) in UPDATE_GONE:
                return None  # post it as a new message instead
            raise
        return SentRef(platform=PLATFORM, message_id=out.replace_ref or "", channel_id=channel)

    async def _post(self, out: OutMessage, to: Destination) -> SentRef:
        channel = await self._channel_for(to)
        thread = to.thread_id if to.thread_id and _THREAD_TS.match(to.thread_id) else None
        fields: dict[str, Any] = {
            "channel": channel,
            "text": render.fallback_text(out.text),
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if out.buttons:
            fields["blocks"] = render.blocks(out.text, out.buttons)
        if thread:
            fields["thread_ts"] = thread
        try:
            response = await self.client.chat_postMessage(**fields)
        except SlackApiError as exc:
            if error_code(exc) != "not_in_channel" or to.is_dm:
                raise
            # An admin asked to observe a public channel the bot is not in: join it.
            await self.client.conversations_join(channel=channel)
            response = await self.client.chat_postMessage(**fields)
        channel = str(response.get("channel") or channel)
        ts = str(response.get("ts"))
        if out.attachment_name and out.attachment is not None:
            await self._attach(channel, thread, out.attachment_name, out.attachment)
        return SentRef(
            platform=PLATFORM, message_id=normalize.message_id(channel, ts), channel_id=channel
        )

    async def _attach(self, channel: str, thread: str | None, name: str, content: str) -> None:
        try:
            await self.client.files_upload_v2(
                channel=channel, content=content, filename=name, title=name, thread_ts=thread
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            # The text is out already: a retry would post it twice. Show the file inline.
            log.warning("slack.upload_failed", error=_describe(exc))
            await self.client.chat_postMessage(
                channel=channel, text=render.code_block(name, content), thread_ts=thread
            )

    async def _channel_for(self, to: Destination) -> str:
        if to.dm_user_id is None:
            if not to.channel_id:
                raise SendError("a message without a channel or person to send it to")
            return to.channel_id
        cached = self._dm_channels.get(to.dm_user_id)
        if cached:
            return cached
        response = await self.client.conversations_open(users=to.dm_user_id)
        channel = str((response.get("channel") or {})["id"])
        self._dm_channels[to.dm_user_id] = channel
        return channel


def send_error(exc: SlackApiError) -> SendError:
    """Slack's refusal as a SendError: 429 and 5xx may be retried, the rest may not."""
    retry_after = retry_after_of(exc)
    status = exc.response.status_code if exc.response is not None else 0
    if retry_after is None and status >= 500:
        retry_after = 2.0
    return SendError(f"Slack refused the message ({error_code(exc)})", retry_after=retry_after)


def retry_after_of(exc: SlackApiError) -> float | None:
    response = exc.response
    if response is None or response.status_code != 429:
        return None
    try:
        return max(float(response.headers.get("Retry-After", "1")), 0.0)
    except (TypeError, ValueError):
        return 1.0


def error_code(exc: SlackApiError) -> str:
    response = exc.response
    return str(response.get("error") or "unknown") if response is not None else "unknown"


def _describe(exc: BaseException) -> str:
    return error_code(exc) if isinstance(exc, SlackApiError) else type(exc).__name__
