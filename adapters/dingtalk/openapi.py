"""DingTalk's HTTP APIs over aiohttp: access token, robot messages, cards, session webhooks.

dingtalk-stream sends with blocking `requests`; the bot sends here instead, so nothing
waits on the event loop. Errors become SendError (with `retry_after` when trying again
can work) whose reason names the API and DingTalk's error code, never message text.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import structlog

from adapters.base import SendError

log = structlog.get_logger(__name__)

TOKEN_PATH = "/v1.0/oauth2/accessToken"
TOKEN_HEADER = "x-acs-dingtalk-access-token"
TOKEN_MARGIN_SECONDS = 300  # refresh five minutes before DingTalk says it expires
TIMEOUT = aiohttp.ClientTimeout(total=15)
RETRY_AFTER_THROTTLED = 1.0
RETRY_AFTER_UNAVAILABLE = 2.0
THROTTLED_CODES = frozenset(
    {
        "Forbidden.AccessDenied.QpsLimitForApi",
        "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
        "Throttling",
        "send.too.fast",
        "too.many.people",
        "too.many.group",
    }
)
WEBHOOK_THROTTLED = frozenset({130101, 130102})  # "send too fast" on a session webhook
BAD_CREDENTIALS = (
    "DingTalk rejected the app credentials: set DINGTALK_CLIENT_ID to the app's Client ID "
    "(AppKey) and DINGTALK_CLIENT_SECRET to its Client Secret (AppSecret)"
)


class WebhookGone(Exception):
    """A session webhook no longer takes messages (expired or revoked): use the robot API."""


class OpenApi:
    def __init__(self, base_url: str, client_id: str, client_secret: str) -> None:
        self._base = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    async def call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """Call an OpenAPI with the cached access token (fetched again once if refused)."""
        for attempt in (1, 2):
            token = await self.token()
            status, answer, retry_after = await self._request(
                method, self._base + path, body, {TOKEN_HEADER: token}
            )
            if status == 401 and attempt == 1:
                self._token = None  # revoked or expired early: fetch a new one and try again
                continue
            return _checked(path, status, answer, retry_after)
        raise AssertionError("unreachable")

    async def post_webhook(self, url: str, body: dict[str, Any]) -> None:
        """Reply through a message's session webhook; WebhookGone when it no longer works."""
        status, answer, retry_after = await self._request("POST", url, body, {})
        code = answer.get("errcode", 0)
        if status == 429 or code in WEBHOOK_THROTTLED:
            raise SendError(
                "DingTalk throttled the session webhook", retry_after=retry_after or 1.0
            )
        if status >= 500:
            raise SendError(
                f"DingTalk answered {status} on a session webhook",
                retry_after=RETRY_AFTER_UNAVAILABLE,
            )
        if status != 200 or code != 0:
            raise WebhookGone(f"status={status} errcode={code}")

    async def token(self) -> str:
        """The app's access token, cached until five minutes before it expires."""
        async with self._token_lock:
            if self._token is None or time.monotonic() >= self._token_expires:
                status, answer, retry_after = await self._request(
                    "POST",
                    self._base + TOKEN_PATH,
                    {"appKey": self._client_id, "appSecret": self._client_secret},
                    {},
                )
                if status in (400, 401, 403):
                    raise SendError(BAD_CREDENTIALS)
                answer = _checked(TOKEN_PATH, status, answer, retry_after)
                token, expires_in = answer.get("accessToken"), answer.get("expireIn")
                if not isinstance(token, str) or not isinstance(expires_in, int):
                    raise SendError("DingTalk's access-token answer had no accessToken")
                self._token = token
                self._token_expires = time.monotonic() + max(expires_in - TOKEN_MARGIN_SECONDS, 0)
                log.info("dingtalk.token_refreshed", expires_in=expires_in)
            return self._token

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _request(
        self, method: str, url: str, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], float | None]:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        try:
            async with self._session.request(method, url, json=body, headers=headers) as response:
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    answer = {}
                return (
                    response.status,
                    answer if isinstance(answer, dict) else {},
                    _retry_after(response.headers.get("Retry-After")),
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SendError(
                f"could not reach DingTalk ({type(exc).__name__}): check the network and "
                "DINGTALK_OPENAPI_ENDPOINT",
                retry_after=RETRY_AFTER_UNAVAILABLE,
            ) from None


def _checked(
    path: str, status: int, answer: dict[str, Any], retry_after: float | None
) -> dict[str, Any]:
    code = str(answer.get("code", "")) if status != 200 else ""
    if status == 429 or code in THROTTLED_CODES:
        raise SendError(
            f"DingTalk throttled {path}", retry_after=retry_after or RETRY_AFTER_THROTTLED
        )
    if status >= 500:
        raise SendError(
            f"DingTalk answered {status} on {path}",
            retry_after=retry_after or RETRY_AFTER_UNAVAILABLE,
        )
    if status != 200:
        raise SendError(
            f"DingTalk refused {path} ({status} {code or 'no code'}): check that the app has the "
            "robot's permissions (qyapi_robot_sendmsg, card permissions for cards) and is published"
        )
    return answer


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
