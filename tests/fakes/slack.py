"""A local fake of Slack on 127.0.0.1, for the real slack_sdk / slack_bolt to talk to.

- Web API at `/api/<method>`: records every call (query, form and JSON merged, as Slack
  accepts them), checks the token, answers in Slack's documented shapes, and can answer
  429 with Retry-After on demand.
- Socket Mode: `apps.connections.open` hands out `ws://127.0.0.1:…/socket`, which says
  `hello` and then sends the envelopes a test asks for, returning the client's ack.
- `response_url`s and file upload URLs point back here and are recorded too.
- Builders for payloads in Slack's documented shapes, and `SignedPoster`, which posts them
  to the bot's `/slack/events` signed the way Slack signs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

from aiohttp import ClientSession, WSMsgType, web

from bot.app import Application
from bot.settings import Settings
from tests.conftest import free_port, make_settings

BOT_TOKEN = "xoxb-1111-2222-fakebottoken"
APP_TOKEN = "xapp-1-A0APP-3333-fakeapptoken"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM_ID = "T0TEAM"
API_APP_ID = "A0APP"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"

T = TypeVar("T")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None


@dataclass
class Posted:
    """A message the bot posted (or updated) in the fake workspace."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    updates: int = 0

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return [
            element
            for block in self.blocks
            if block.get("type") == "actions"
            for element in block.get("elements", [])
        ]

    @property
    def shown_text(self) -> str:
        sections = [b["text"]["text"] for b in self.blocks if b.get("type") == "section"]
        return "\n".join(sections) if sections else self.text


class FakeSlack:
    def __init__(self) -> None:
        self.port = free_port()
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.calls: list[Call] = []
        self.posted: list[Posted] = []
        self.responses: list[dict[str, Any]] = []  # bodies posted to response_urls
        self.uploads: dict[str, bytes] = {}
        self.shared_files: list[dict[str, Any]] = []
        self.socket_connections = 0
        self.response_url_status = 200  # 404 makes every response_url answer "expired_url"
        self._limits: dict[str, list[float]] = {}
        self._failures: dict[str, list[tuple[int, str]]] = {}
        self._ts = itertools.count(1)
        self._ws: web.WebSocketResponse | None = None
        self._connected = asyncio.Event()
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._runner: web.AppRunner | None = None
        self.add_user(BOT_USER_ID, "apprentice", is_bot=True)

    # -- set-up ---------------------------------------------------------------------------

    def add_user(
        self, user_id: str, name: str, *, locale: str | None = "en-US", is_bot: bool = False
    ) -> None:
        self.users[user_id] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": name.title(),
            "is_bot": is_bot,
            "locale": locale,
            "profile": {"display_name": name, "real_name": name.title()},
        }

    def add_channel(
        self, channel_id: str, name: str, *, private: bool = False, member: bool = True
    ) -> None:
        self.channels[channel_id] = {
            "id": channel_id,
            "name": name,
            "is_channel": True,
            "is_private": private,
            "is_member": member,
            "is_im": False,
            "is_mpim": False,
            "is_archived": False,
        }

    def rate_limit(self, method: str, *, retry_after: float = 1, times: int = 1) -> None:
        """The next `times` calls of `method` get 429 with this Retry-After."""
        self._limits.setdefault(method, []).extend([retry_after] * times)

    def fail(self, method: str, error: str, *, times: int = 1, status: int = 200) -> None:
        """The next `times` calls of `method` answer `{"ok": false, "error": error}`."""
        self._failures.setdefault(method, []).extend([(status, error)] * times)

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_get("/socket", self._socket)
        app.router.add_post("/response/{key}", self._response_url)
        app.router.add_post("/upload/{file_id}", self._upload)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self) -> str:
        return f"{self.base}/response/{uuid.uuid4().hex}"

    # -- what tests look at -----------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def dm_channel(self, user_id: str) -> str:
        return "D" + user_id.removeprefix("U")

    def messages_in(self, channel: str) -> list[Posted]:
        return [p for p in self.posted if p.channel == channel]

    def find(self, ref: str) -> Posted | None:
        channel, _, ts = ref.partition(":")
        return next((p for p in self.posted if p.channel == channel and p.ts == ts), None)

    async def wait_for(
        self, probe: Callable[[], T | None], timeout: float = 30.0, what: str = "it"
    ) -> T:
        """Poll `probe` until it returns something truthy (bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.01)

    # -- Socket Mode ----------------------------------------------------------------------------

    async def wait_connected(self, timeout: float = 30.0) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def send_envelope(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """Send one envelope as Slack does; returns the client's ack."""
        await self.wait_connected(timeout)
        assert self._ws is not None
        envelope_id = str(uuid.uuid4())
        ack: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = ack
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
        }
        if kind == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        await self._ws.send_str(json.dumps(envelope))
        return await asyncio.wait_for(ack, timeout)

    async def ask_to_reconnect(self) -> None:
        """Slack's `disconnect` message (sent before it rotates a connection)."""
        assert self._ws is not None, "no Socket Mode client is connected"
        await self._ws.send_json({"type": "disconnect", "reason": "refresh_requested"})

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._ws = ws
        self.socket_connections += 1
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "fake-slack", "approximate_connection_time": 18060},
                "connection_info": {"app_id": API_APP_ID},
            }
        )
        self._connected.set()
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            ack = self._acks.pop(str(data.get("envelope_id")), None)
            if ack is not None and not ack.done():
                ack.set_result(data)
        if self._ws is ws:
            self._ws = None
            self._connected.clear()
        return ws

    # -- Web API ----------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth else params.pop("token", None)
        self.calls.append(Call(method, params, token))
        limits = self._limits.get(method)
        if limits:
            retry_after = limits.pop(0)
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(int(retry_after))},
            )
        failures = self._failures.get(method)
        if failures:
            status, error = failures.pop(0)
            return web.json_response({"ok": False, "error": error}, status=status)
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != expected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response(handler(params))

    def _m_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": "Fake Team",
            "user": "apprentice",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _m_apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket?ticket={uuid.uuid4()}"}

    def _m_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(params.get("user")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        shown = dict(user)
        if str(params.get("include_locale")).lower() not in ("true", "1"):
            shown.pop("locale", None)
        return {"ok": True, "user": shown}

    def _m_conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = str(params.get("users", ""))
        if users not in self.users or "," in users:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": self.dm_channel(users)}}

    def _m_conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(str(params.get("channel")))
        if channel is None or (channel["is_private"] and not channel["is_member"]):
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": channel}

    def _m_conversations_list(self, params: dict[str, Any]) -> dict[str, Any]:
        visible = [c for c in self.channels.values() if not c["is_private"] or c["is_member"]]
        start = int(params.get("cursor") or 0)
        limit = int(params.get("limit") or 100)
        page = visible[start : start + limit]
        more = start + limit < len(visible)
        return {
            "ok": True,
            "channels": page,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _m_conversations_join(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(str(params.get("channel")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if channel["is_private"]:
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        channel["is_member"] = True
        return {"ok": True, "channel": channel}

    def _m_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        channel = str(params.get("channel"))
        if not channel.startswith("D"):
            known = self.channels.get(channel)
            if known is None:
                return {"ok": False, "error": "channel_not_found"}
            if not known["is_member"]:
                return {"ok": False, "error": "not_in_channel"}
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        posted = Posted(
            channel=channel,
            ts=ts,
            text=str(params.get("text", "")),
            blocks=_blocks(params.get("blocks")),
            thread_ts=params.get("thread_ts"),
        )
        self.posted.append(posted)
        message = {"type": "message", "text": posted.text, "ts": ts, "bot_id": BOT_ID}
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _m_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        posted = self.find(f"{params.get('channel')}:{params.get('ts')}")
        if posted is None:
            return {"ok": False, "error": "message_not_found"}
        posted.text = str(params.get("text", ""))
        if "blocks" in params:
            posted.blocks = _blocks(params["blocks"])
        posted.updates += 1
        return {"ok": True, "channel": posted.channel, "ts": posted.ts, "text": posted.text}

    def _m_files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        file_id = f"F{uuid.uuid4().hex[:10].upper()}"
        return {"ok": True, "upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        files = params.get("files")
        files = json.loads(files) if isinstance(files, str) else files or []
        for item in files:
            self.shared_files.append(
                {
                    "id": item["id"],
                    "title": item.get("title"),
                    "channel": params.get("channel_id"),
                    "content": self.uploads.get(item["id"], b""),
                }
            )
        return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["file_id"]] = await request.read()
        return web.Response(text="OK - uploaded")

    async def _response_url(self, request: web.Request) -> web.Response:
        if self.response_url_status != 200:
            return web.Response(status=self.response_url_status, text="expired_url")
        body = await request.json()
        body["response_url_key"] = request.match_info["key"]
        self.responses.append(body)
        return web.Response(text="ok")


def _blocks(value: object) -> list[dict[str, Any]]:
    if isinstance(value, str):
        value = json.loads(value)
    return list(value) if isinstance(value, list) else []


# -- payloads in Slack's documented shapes ---------------------------------------------------

_clock = itertools.count(1)


def new_ts() -> str:
    return f"{int(time.time())}.{next(_clock):06d}"


def event_callback(event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """The Events API outer envelope (`event_callback`)."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": API_APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{uuid.uuid4().hex}",
    }


def message(
    user: str,
    channel: str,
    text: str,
    *,
    ts: str | None = None,
    channel_type: str = "channel",
    thread_ts: str | None = None,
) -> dict[str, Any]:
    ts = ts or new_ts()
    event: dict[str, Any] = {
        "client_msg_id": str(uuid.uuid4()),
        "type": "message",
        "text": text,
        "user": user,
        "ts": ts,
        "team": TEAM_ID,
        "blocks": [],
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
        event["parent_user_id"] = user
    return event


def message_changed(user: str, channel: str, ts: str, old: str, new: str) -> dict[str, Any]:
    now = new_ts()
    return {
        "type": "message",
        "subtype": "message_changed",
        "message": {
            "type": "message",
            "user": user,
            "text": new,
            "ts": ts,
            "edited": {"user": user, "ts": now},
            "team": TEAM_ID,
        },
        "previous_message": {"type": "message", "user": user, "text": old, "ts": ts},
        "channel": channel,
        "hidden": True,
        "ts": now,
        "event_ts": now,
        "channel_type": "channel",
    }


def message_deleted(user: str, channel: str, ts: str, old: str) -> dict[str, Any]:
    now = new_ts()
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "deleted_ts": ts,
        "channel": channel,
        "previous_message": {"type": "message", "user": user, "text": old, "ts": ts},
        "event_ts": now,
        "ts": now,
        "channel_type": "channel",
    }


def bot_message(channel: str, text: str) -> dict[str, Any]:
    ts = new_ts()
    return {
        "type": "message",
        "subtype": "bot_message",
        "text": text,
        "ts": ts,
        "bot_id": "B0OTHER",
        "username": "another bot",
        "channel": channel,
        "event_ts": ts,
        "channel_type": "channel",
    }


def app_mention(user: str, channel: str, text: str, *, ts: str | None = None) -> dict[str, Any]:
    ts = ts or new_ts()
    return {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": TEAM_ID,
    }


def url_verification(challenge: str) -> dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "challenge": challenge,
        "type": "url_verification",
    }


def slash_command(
    user: str,
    user_name: str,
    channel_id: str,
    channel_name: str,
    text: str,
    response_url: str,
    *,
    command: str = "/skill",
) -> dict[str, str]:
    """A slash command's form fields, as Slack posts them."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "fake",
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}",
    }


def block_actions(
    user: str, user_name: str, posted: Posted, button: dict[str, Any], response_url: str
) -> dict[str, Any]:
    """A click on a button of a message the bot posted (`block_actions`)."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user_name, "name": user_name, "team_id": TEAM_ID},
        "api_app_id": API_APP_ID,
        "token": "legacy-verification-token",
        "container": {
            "type": "message",
            "message_ts": posted.ts,
            "channel_id": posted.channel,
            "is_ephemeral": False,
        },
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": posted.channel, "name": "directmessage"},
        "message": {
            "type": "message",
            "bot_id": BOT_ID,
            "text": posted.text,
            "ts": posted.ts,
            "blocks": posted.blocks,
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": button["action_id"],
                "block_id": "b1",
                "text": button["text"],
                "value": button.get("value", ""),
                "style": button.get("style", "default"),
                "type": "button",
                "action_ts": new_ts(),
            }
        ],
    }


def sign(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """The two headers Slack adds: `v0=` HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class Answer:
    status: int
    body: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SignedPoster:
    """Posts to the bot's `/slack/events` exactly as Slack does (JSON, form, `payload=`)."""

    def __init__(self, session: ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def event(self, payload: dict[str, Any], **options: Any) -> Answer:
        return await self.raw(json.dumps(payload), "application/json", **options)

    async def command(self, form: dict[str, str], **options: Any) -> Answer:
        return await self.raw(urlencode(form), "application/x-www-form-urlencoded", **options)

    async def action(self, payload: dict[str, Any], **options: Any) -> Answer:
        body = urlencode({"payload": json.dumps(payload)})
        return await self.raw(body, "application/x-www-form-urlencoded", **options)

    async def raw(
        self,
        body: str,
        content_type: str,
        *,
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
        retry_num: int | None = None,
    ) -> Answer:
        headers = {"Content-Type": content_type, **sign(body, secret=secret, timestamp=timestamp)}
        if retry_num:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        started = time.monotonic()
        async with self.session.post(self.url, data=body.encode(), headers=headers) as response:
            text = await response.text()
            return Answer(response.status, text, time.monotonic() - started)


# -- one workspace, driven over either transport ----------------------------------------------

ADMIN, ALICE, BOB, CAROL = "U0ADMIN", "U0ALICE", "U0BOB", "U0CAROL"
NAMES = {ADMIN: "admin", ALICE: "alice", BOB: "bob", CAROL: "carol"}
TEAM_CHANNEL, RANDOM_CHANNEL, SECRET_CHANNEL = "C0TEAM", "C0RANDOM", "G0SECRET"


def populate(fake: FakeSlack) -> None:
    """admin, alice, bob and carol; #team and #random (bot in both), a private #secret."""
    for user_id, name in NAMES.items():
        fake.add_user(user_id, name, locale="zh-CN" if name == "carol" else "en-US")
    fake.add_channel(TEAM_CHANNEL, "team")
    fake.add_channel(RANDOM_CHANNEL, "random", member=False)
    fake.add_channel(SECRET_CHANNEL, "secret", private=True, member=False)


class HttpTransport:
    """Slack → bot over HTTP: signed POSTs to /slack/events."""

    def __init__(self, poster: SignedPoster) -> None:
        self.poster = poster

    async def event(self, payload: dict[str, Any], retry: int = 0) -> Answer:
        return await self.poster.event(payload, retry_num=retry or None)

    async def command(self, form: dict[str, str]) -> Answer:
        return await self.poster.command(form)

    async def action(self, payload: dict[str, Any]) -> Answer:
        return await self.poster.action(payload)


class SocketTransport:
    """Slack → bot over Socket Mode: envelopes on the fake's websocket; the ack is the answer."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake

    async def event(self, payload: dict[str, Any], retry: int = 0) -> Answer:
        reason = "timeout" if retry else ""
        return await self._send("events_api", payload, retry_attempt=retry, retry_reason=reason)

    async def command(self, form: dict[str, str]) -> Answer:
        return await self._send("slash_commands", dict(form))

    async def action(self, payload: dict[str, Any]) -> Answer:
        return await self._send("interactive", payload)

    async def _send(self, kind: str, payload: dict[str, Any], **options: Any) -> Answer:
        started = time.monotonic()
        ack = await self.fake.send_envelope(kind, payload, **options)
        body = json.dumps(ack["payload"]) if ack.get("payload") else ""
        return Answer(200, body, time.monotonic() - started)


class Workspace:
    """People doing things in the fake workspace, whichever transport carries them."""

    def __init__(self, fake: FakeSlack, transport: HttpTransport | SocketTransport) -> None:
        self.fake = fake
        self.transport = transport

    async def command(
        self, user: str, text: str, channel: str = TEAM_CHANNEL, channel_name: str = "team"
    ) -> Answer:
        form = slash_command(
            user, NAMES[user], channel, channel_name, text, self.fake.response_url()
        )
        return await self.transport.command(form)

    async def say(self, user: str, channel: str, text: str, **options: Any) -> dict[str, Any]:
        """Post a message; returns the event callback that was delivered."""
        payload = event_callback(message(user, channel, text, **options))
        answer = await self.transport.event(payload)
        assert answer.status == 200, answer
        return payload

    async def consent_dm(self, user: str, seen: int = 0) -> Posted:
        """Wait for a DM to `user` that carries buttons (after the first `seen` of them)."""

        def probe() -> Posted | None:
            with_buttons = [
                p for p in self.fake.messages_in(self.fake.dm_channel(user)) if p.buttons
            ]
            return with_buttons[seen] if len(with_buttons) > seen else None

        return await self.fake.wait_for(probe, what=f"a DM with buttons to {user}")

    async def click(self, user: str, posted: Posted, label: str) -> Answer:
        button = next(b for b in posted.buttons if b["text"]["text"] == label)
        return await self.transport.action(
            block_actions(user, NAMES[user], posted, button, self.fake.response_url())
        )

    async def opt_in(self, user: str, purpose: str = "") -> Posted:
        """`/skill optin [purpose]` in #team, then Agree; returns the updated DM."""
        seen = len([p for p in self.fake.messages_in(self.fake.dm_channel(user)) if p.buttons])
        await self.command(user, f"optin {purpose}".strip())
        dm = await self.consent_dm(user, seen)
        await self.click(user, dm, "Agree")
        await self.fake.wait_for(lambda: dm.updates > 0, what="the consent DM to be updated")
        return dm

    async def observe(self, channel: str, name: str) -> None:
        before = len(self.fake.messages_in(channel))
        await self.command(ADMIN, f"admin observe <#{channel}|{name}>")
        await self.fake.wait_for(
            lambda: len(self.fake.messages_in(channel)) > before, what="the channel notice"
        )


def slack_settings(data_dir: Path, fake: FakeSlack, *, socket_mode: bool = False) -> Settings:
    """Settings for a bot whose only platform is the fake Slack (HTTP or Socket Mode)."""
    return make_settings(
        data_dir,
        console=False,
        admins=[f"slack:{ADMIN}"],
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=None if socket_mode else SIGNING_SECRET,
        slack_app_token=APP_TOKEN if socket_mode else None,
        slack_api_url=fake.api_url,
    )


@contextlib.asynccontextmanager
async def running_fake() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    populate(fake)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@contextlib.asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[Application]:
    application = Application(settings)
    await application.start()
    try:
        yield application
    finally:
        await application.stop()
