"""Lark's Web API through lark-oapi: messages, cards, files, chats; tokens and errors handled.

Imports the SDK: load this module only when the Lark adapter starts (it takes seconds).
"""

from __future__ import annotations

import io
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import lark_oapi as lark
import requests
import structlog
from lark_oapi.api.im.v1 import (
    CreateFileRequest,
    CreateFileRequestBody,
    CreateMessageRequest,
    CreateMessageRequestBody,
    GetChatRequest,
    ListChatRequest,
    ListMessageRequest,
    ListMessageResponseBody,
    PatchMessageRequest,
    PatchMessageRequestBody,
    ReplyMessageRequest,
    ReplyMessageRequestBody,
)
from lark_oapi.core.http import Transport
from lark_oapi.core.token.create_self_tenant_token_request import CreateSelfTenantTokenRequest
from lark_oapi.core.token.create_token_request_body import CreateTokenRequestBody

from adapters.base import SendError
from adapters.lark.config import LarkConfig
from adapters.lark.token import TenantToken, Token, TokenRefused

log = structlog.get_logger(__name__)

HTTP_TIMEOUT = 10.0
RETRY_SECONDS = 2.0
MAX_MSG_CHARS = 200
MAX_CHAT_PAGES = 20
RATE_LIMITED = {99991400, 230020, 11232}  # app-wide, per-chat, per-bot frequency limits
SERVER_BUSY = {1, 1000040343, 99991401, 230019}  # "system busy"/"internal error"/"try later"
TOKEN_STALE = {99991661, 99991663, 99991664, 99991668}  # missing, invalid or expired token
BAD_CREDENTIALS = {10003, 10014, 99991665}  # app id or app secret is wrong

R = TypeVar("R", bound=lark.BaseResponse)


class LarkApi:
    def __init__(self, config: LarkConfig) -> None:
        self._config = config
        self._client = (
            lark.Client.builder()
            .app_id(config.app_id)
            .app_secret(config.app_secret)
            .domain(config.domain)
            .enable_set_token(True)  # our TenantToken supplies it: no blocking fetch on the loop
            .timeout(HTTP_TIMEOUT)
            .log_level(lark.LogLevel.WARNING)
            .build()
        )
        self._token = TenantToken(self._fetch_token)

    # -- messages ------------------------------------------------------------------------

    async def create(
        self, receive_id_type: str, receive_id: str, msg_type: str, content: str
    ) -> tuple[str, str | None]:
        """Post a message; returns (message_id, chat_id)."""
        request = (
            CreateMessageRequest.builder()
            .receive_id_type(receive_id_type)
            .request_body(
                CreateMessageRequestBody.builder()
                .receive_id(receive_id)
                .msg_type(msg_type)
                .content(content)
                .build()
            )
            .build()
        )
        resp = await self._call("im.message.create", self._client.im.v1.message.acreate, request)
        return resp.data.message_id, resp.data.chat_id

    async def reply(self, message_id: str, msg_type: str, content: str) -> tuple[str, str | None]:
        """Answer inside the topic thread that `message_id` starts."""
        request = (
            ReplyMessageRequest.builder()
            .message_id(message_id)
            .request_body(
                ReplyMessageRequestBody.builder()
                .msg_type(msg_type)
                .content(content)
                .reply_in_thread(True)
                .build()
            )
            .build()
        )
        resp = await self._call("im.message.reply", self._client.im.v1.message.areply, request)
        return resp.data.message_id, resp.data.chat_id

    async def patch_card(self, message_id: str, card: str) -> None:
        """Replace the content of an interactive card we sent."""
        request = (
            PatchMessageRequest.builder()
            .message_id(message_id)
            .request_body(PatchMessageRequestBody.builder().content(card).build())
            .build()
        )
        await self._call("im.message.patch", self._client.im.v1.message.apatch, request)

    async def upload_file(self, name: str, data: bytes) -> str:
        """Upload a file for a file message; returns its file_key."""
        request = (
            CreateFileRequest.builder()
            .request_body(
                CreateFileRequestBody.builder()
                .file_type("stream")
                .file_name(name)
                .file(io.BytesIO(data))
                .build()
            )
            .build()
        )
        resp = await self._call("im.file.create", self._client.im.v1.file.acreate, request)
        return str(resp.data.file_key)

    async def list_messages(
        self, chat_id: str, start_time: int, page_token: str = "", page_size: int = 50
    ) -> ListMessageResponseBody:
        """One page of a chat's history, oldest first, from `start_time` (seconds) on."""
        builder = (
            ListMessageRequest.builder()
            .container_id_type("chat")
            .container_id(chat_id)
            .start_time(str(start_time))
            .sort_type("ByCreateTimeAsc")
            .page_size(page_size)
        )
        if page_token:
            builder = builder.page_token(page_token)
        call = self._client.im.v1.message.alist
        resp = await self._call("im.message.list", call, builder.build())
        return resp.data

    # -- chats and the bot -----------------------------------------------------------------

    async def chat_name(self, chat_id: str) -> str | None:
        request = GetChatRequest.builder().chat_id(chat_id).build()
        resp = await self._call("im.chat.get", self._client.im.v1.chat.aget, request)
        return resp.data.name if resp.data else None

    async def find_chat(self, name: str) -> tuple[str, str] | None:
        """A chat the bot is in whose name is `name` (case-insensitive)."""
        page_token = ""
        for _ in range(MAX_CHAT_PAGES):
            builder = ListChatRequest.builder().page_size(100)
            if page_token:
                builder = builder.page_token(page_token)
            resp = await self._call("im.chat.list", self._client.im.v1.chat.alist, builder.build())
            for chat in resp.data.items or ():
                if (chat.name or "").casefold() == name.casefold():
                    return chat.chat_id, chat.name
            if not resp.data.has_more or not resp.data.page_token:
                return None
            page_token = resp.data.page_token
        return None

    async def bot_open_id(self) -> str | None:
        """The bot's own open_id, to recognise @-mentions of it."""
        request = (
            lark.BaseRequest.builder()
            .http_method(lark.HttpMethod.GET)
            .uri("/open-apis/bot/v3/info")
            .token_types({lark.AccessTokenType.TENANT})
            .build()
        )
        resp = await self._call("bot.info", self._client.arequest, request)
        body = json.loads(resp.raw.content) if resp.raw and resp.raw.content else {}
        open_id = (body.get("bot") or {}).get("open_id")
        return open_id if isinstance(open_id, str) and open_id else None

    # -- plumbing ------------------------------------------------------------------------

    async def _call(
        self,
        what: str,
        method: Callable[[Any, lark.RequestOption], Awaitable[R]],
        request: Any,
    ) -> R:
        """One API call with the tenant token; a stale token is fetched again once."""
        for attempt in (1, 2):
            option = lark.RequestOption.builder().tenant_access_token(await self._token_for(what))
            try:
                resp = await method(request, option.build())
            except (httpx.HTTPError, OSError, ValueError) as exc:  # ValueError: not JSON (a proxy)
                log.warning("lark.api_unreachable", call=what, error=type(exc).__name__)
                raise SendError(f"Lark {what}: no answer", retry_after=RETRY_SECONDS) from None
            if resp.success():
                return resp
            if resp.code in TOKEN_STALE and attempt == 1:
                self._token.invalidate()
                continue
            raise _failure(what, resp)
        raise AssertionError("unreachable")

    async def _token_for(self, what: str) -> str:
        try:
            return await self._token.get()
        except TokenRefused as exc:
            log.error("lark.token_refused", call=what, code=exc.code, msg=exc.msg[:MAX_MSG_CHARS])
            if exc.code in BAD_CREDENTIALS:
                raise SendError(
                    "Lark refused the app credentials: check LARK_APP_ID and LARK_APP_SECRET "
                    "(developer console → Credentials & Basic Info) and LARK_DOMAIN."
                ) from None
            raise SendError("Lark did not issue a token", retry_after=RETRY_SECONDS) from None
        except (requests.RequestException, OSError) as exc:
            log.warning("lark.token_unreachable", call=what, error=type(exc).__name__)
            raise SendError(
                f"cannot reach Lark at {self._config.domain}: check LARK_DOMAIN and the network",
                retry_after=RETRY_SECONDS,
            ) from None

    def _fetch_token(self) -> Token:
        """Blocking (the SDK uses `requests`): TenantToken runs it in a worker thread."""
        request = (
            CreateSelfTenantTokenRequest.builder()
            .request_body(
                CreateTokenRequestBody.builder()
                .app_id(self._config.app_id)
                .app_secret(self._config.app_secret)
                .build()
            )
            .build()
        )
        raw = Transport.execute(self._client.config, request)
        try:
            body = json.loads(raw.content)
        except ValueError:
            raise TokenRefused(None, f"HTTP {raw.status_code} without a JSON body") from None
        if body.get("code") != 0 or not body.get("tenant_access_token"):
            raise TokenRefused(body.get("code"), str(body.get("msg", "")))
        return Token(str(body["tenant_access_token"]), int(body.get("expire") or 7200))


def _failure(what: str, resp: lark.BaseResponse) -> SendError:
    """Lark's refusal → SendError, with retry_after when trying again may work."""
    status = resp.raw.status_code if resp.raw else None
    headers = {k.lower(): v for k, v in ((resp.raw.headers or {}) if resp.raw else {}).items()}
    msg = (resp.msg or "")[:MAX_MSG_CHARS]
    retry_after: float | None = None
    if status == 429 or resp.code in RATE_LIMITED:
        retry_after = _seconds(headers.get("x-ogw-ratelimit-reset"), default=1.0)
    elif (status is not None and status >= 500) or resp.code in SERVER_BUSY:
        retry_after = RETRY_SECONDS
    log.warning(
        "lark.api_refused", call=what, status=status, code=resp.code, msg=msg, retry=retry_after
    )
    return SendError(f"Lark {what} failed: code={resp.code} msg={msg}", retry_after=retry_after)


def _seconds(value: str | None, *, default: float) -> float:
    try:
        return max(float(value), 0.0) if value is not None else default
    except ValueError:
        return default
