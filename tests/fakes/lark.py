"""A local fake of Lark / Feishu's open platform on 127.0.0.1, driven by the real lark-oapi.

It serves what the bot uses and records every call: the tenant token, the messages API
(create, reply, patch), file upload, chats, the bot's info, the long-connection endpoint
discovery and a websocket speaking the SDK's protobuf frames (built with the SDK's own
`Frame` class). It also builds the payloads Lark sends, in their documented v2 shapes, and
encrypted, signed webhook requests.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from Crypto.Cipher import AES
from lark_oapi.ws.pb.pbbp2_pb2 import Frame

from tests.conftest import free_port

APP_ID = "cli_apprentice_test"
APP_SECRET = "fake-app-secret"
TENANT = "tenant_acme"
BOT_OPEN_ID = "ou_bot_apprentice"
BOT_NAME = "Apprentice"
ENCRYPT_KEY = "fake-encrypt-key"
VERIFICATION_TOKEN = "fake-verification-token"

FRAME_CONTROL, FRAME_DATA = 0, 1
SERVICE_ID = 7


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any]
    authorization: str = ""


@dataclass
class Sent:
    """A message the bot sent (or a card it updated)."""

    message_id: str
    msg_type: str
    content: dict[str, Any]
    receive_id_type: str = ""
    receive_id: str = ""
    reply_to: str | None = None

    @property
    def text(self) -> str:
        """Every piece of text in a post or card, joined."""
        return "\n".join(_texts(self.content))

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return [
            action
            for element in self.content.get("elements", [])
            if element.get("tag") == "action"
            for action in element.get("actions", [])
        ]


@dataclass
class Failure:
    status: int
    code: int
    msg: str
    headers: dict[str, str] = field(default_factory=dict)


class FakeLark:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.calls: list[Call] = []
        self.sent: list[Sent] = []
        self.patched: list[Sent] = []
        self.files: list[tuple[str, bytes]] = []
        self.chats: dict[str, str] = {"oc_team": "Team", "oc_random": "Random"}
        self.ws_responses: list[dict[str, Any]] = []
        self.tokens_issued = 0
        self.bot_info_gate: asyncio.Event | None = None  # set: bot info waits until it is set
        # Chat history served by the message list API: chat id → messages, in its item shape.
        self.history: dict[str, list[dict[str, Any]]] = {}
        self._failures: dict[str, list[Failure]] = {}
        self._ids = itertools.count(1)
        self._socket: web.WebSocketResponse | None = None
        self._connected = asyncio.Event()
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._runner: web.AppRunner | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/open-apis/auth/v3/tenant_access_token/internal", self._token)
        app.router.add_post("/callback/ws/endpoint", self._endpoint)
        app.router.add_get("/ws", self._websocket)
        app.router.add_post("/open-apis/im/v1/messages", self._create)
        app.router.add_get("/open-apis/im/v1/messages", self._list_messages)
        app.router.add_post("/open-apis/im/v1/messages/{message_id}/reply", self._reply)
        app.router.add_patch("/open-apis/im/v1/messages/{message_id}", self._patch)
        app.router.add_post("/open-apis/im/v1/files", self._upload)
        app.router.add_get("/open-apis/im/v1/chats", self._list_chats)
        app.router.add_get("/open-apis/im/v1/chats/{chat_id}", self._get_chat)
        app.router.add_get("/open-apis/bot/v3/info", self._bot_info)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what tests drive ---------------------------------------------------------------

    def fail_next(self, path: str, failure: Failure, times: int = 1) -> None:
        """The next `times` calls to `path` get `failure` instead of an answer."""
        self._failures.setdefault(path, []).extend([failure] * times)

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    @property
    def connected(self) -> bool:
        return self._socket is not None and not self._socket.closed

    async def push(self, payload: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        """Deliver an event over the long connection; returns the client's ack payload."""
        await self.wait_connected()
        assert self._socket is not None
        message_id = uuid.uuid4().hex
        frame = Frame()
        frame.SeqID, frame.LogID = next(self._ids), next(self._ids)
        frame.service, frame.method = SERVICE_ID, FRAME_DATA
        for key, value in (
            ("type", "event"),
            ("message_id", message_id),
            ("trace_id", uuid.uuid4().hex),
            ("sum", "1"),
            ("seq", "0"),
        ):
            header = frame.headers.add()
            header.key, header.value = key, value
        frame.payload = json.dumps(payload).encode()
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[message_id] = waiter
        await self._socket.send_bytes(frame.SerializeToString())
        return await asyncio.wait_for(waiter, timeout)

    async def drop_connection(self) -> None:
        """Close the long connection from the server side, as Lark does on redeploys."""
        assert self._socket is not None
        self._connected.clear()
        await self._socket.close()

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    def dms_to(self, open_id: str) -> list[Sent]:
        return [s for s in self.sent if s.receive_id_type == "open_id" and s.receive_id == open_id]

    def posts_in(self, chat_id: str) -> list[Sent]:
        return [s for s in self.sent if s.receive_id_type == "chat_id" and s.receive_id == chat_id]

    # -- the open platform ------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        if body.get("app_id") != APP_ID or body.get("app_secret") != APP_SECRET:
            return web.json_response({"code": 10014, "msg": "app secret invalid"})
        self.tokens_issued += 1
        return web.json_response(
            {"code": 0, "msg": "ok", "tenant_access_token": self._tenant_token(), "expire": 7200}
        )

    async def _endpoint(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        if body.get("AppID") != APP_ID or body.get("AppSecret") != APP_SECRET:
            return web.json_response({"code": 1000040344, "msg": "invalid app credentials"})
        url = (
            f"ws://127.0.0.1:{self.port}/ws?device_id=dev-{next(self._ids)}&service_id={SERVICE_ID}"
        )
        config = {
            "ReconnectCount": -1,
            "ReconnectInterval": 1,
            "ReconnectNonce": 0,
            "PingInterval": 120,
        }
        return web.json_response(
            {"code": 0, "msg": "ok", "data": {"URL": url, "ClientConfig": config}}
        )

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        self.calls.append(Call("GET", "/ws", dict(request.query), {}))
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._socket = socket
        self._connected.set()
        try:
            async for message in socket:
                if message.type is WSMsgType.BINARY:
                    await self._frame_from_client(socket, message.data)
        finally:
            if self._socket is socket:
                self._connected.clear()
        return socket

    async def _frame_from_client(self, socket: web.WebSocketResponse, data: bytes) -> None:
        frame = Frame()
        frame.ParseFromString(data)
        headers = {h.key: h.value for h in frame.headers}
        if frame.method == FRAME_CONTROL and headers.get("type") == "ping":
            pong = Frame()
            pong.SeqID, pong.LogID = 0, 0
            pong.service, pong.method = frame.service, FRAME_CONTROL
            header = pong.headers.add()
            header.key, header.value = "type", "pong"
            await socket.send_bytes(pong.SerializeToString())
            return
        response = json.loads(frame.payload or b"{}")
        if response.get("data"):
            response["data"] = json.loads(base64.b64decode(response["data"]))
        self.ws_responses.append(response)
        waiter = self._waiting.pop(headers.get("message_id", ""), None)
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    async def _create(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        if (refused := self._refusal(request)) is not None:
            return refused
        sent = Sent(
            message_id=f"om_{next(self._ids)}",
            msg_type=body["msg_type"],
            content=json.loads(body["content"]),
            receive_id_type=request.query.get("receive_id_type", ""),
            receive_id=body["receive_id"],
        )
        self.sent.append(sent)
        to = body["receive_id"]
        chat_id = to if sent.receive_id_type == "chat_id" else f"oc_p2p_{to}"
        return _ok({"message_id": sent.message_id, "chat_id": chat_id, "msg_type": sent.msg_type})

    async def _reply(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        if (refused := self._refusal(request)) is not None:
            return refused
        sent = Sent(
            message_id=f"om_{next(self._ids)}",
            msg_type=body["msg_type"],
            content=json.loads(body["content"]),
            reply_to=request.match_info["message_id"],
        )
        self.sent.append(sent)
        return _ok({"message_id": sent.message_id, "msg_type": sent.msg_type})

    async def _patch(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        if (refused := self._refusal(request)) is not None:
            return refused
        message_id = request.match_info["message_id"]
        if not any(s.message_id == message_id and s.msg_type == "interactive" for s in self.sent):
            return web.json_response({"code": 230001, "msg": "message is not a card"}, status=400)
        self.patched.append(Sent(message_id, "interactive", json.loads(body["content"])))
        return _ok({})

    async def _upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form["file"]
        data = upload.file.read() if hasattr(upload, "file") else str(upload).encode()
        fields = {"file_type": form.get("file_type"), "file_name": form.get("file_name")}
        self.calls.append(
            Call(
                "POST",
                request.path,
                dict(request.query),
                fields,
                request.headers.get("Authorization", ""),
            )
        )
        if (refused := self._refusal(request)) is not None:
            return refused
        self.files.append((str(form.get("file_name")), data))
        return _ok({"file_key": f"file_v2_{next(self._ids)}"})

    async def _list_chats(self, request: web.Request) -> web.Response:
        await self._record(request)
        if (refused := self._refusal(request)) is not None:
            return refused
        items = [
            {"chat_id": chat_id, "name": name, "tenant_key": TENANT}
            for chat_id, name in self.chats.items()
        ]
        return _ok({"items": items, "page_token": "", "has_more": False})

    async def _get_chat(self, request: web.Request) -> web.Response:
        await self._record(request)
        if (refused := self._refusal(request)) is not None:
            return refused
        name = self.chats.get(request.match_info["chat_id"])
        if name is None:
            return web.json_response({"code": 232011, "msg": "chat not found"}, status=400)
        return _ok({"name": name, "chat_mode": "group", "tenant_key": TENANT})

    async def _list_messages(self, request: web.Request) -> web.Response:
        """`GET im/v1/messages`: a chat's history, paged as Lark pages it (≤ 50 a page)."""
        await self._record(request)
        if (refused := self._refusal(request)) is not None:
            return refused
        query = request.query
        if query.get("container_id_type") != "chat" or not query.get("container_id"):
            return web.json_response({"code": 99992402, "msg": "field validation failed"}, 400)
        size = int(query.get("page_size", "20"))
        if not 1 <= size <= 50:
            return web.json_response({"code": 99992402, "msg": "page_size must be 1-50"}, 400)
        chat_id = query["container_id"]
        if chat_id not in self.chats:
            return web.json_response({"code": 230002, "msg": "bot is not in the chat"}, 400)
        start = int(query.get("start_time", "0")) * 1000
        end = int(query["end_time"]) * 1000 if query.get("end_time") else None
        items = [
            m
            for m in self.history.get(chat_id, [])
            if int(m["create_time"]) >= start and (end is None or int(m["create_time"]) <= end)
        ]
        items.sort(
            key=lambda m: int(m["create_time"]),
            reverse=query.get("sort_type") == "ByCreateTimeDesc",
        )
        offset = int(base64.b64decode(query["page_token"])) if query.get("page_token") else 0
        page = items[offset : offset + size]
        more = offset + size < len(items)
        token = base64.b64encode(str(offset + size).encode()).decode() if more else ""
        return _ok({"has_more": more, "page_token": token, "items": page})

    async def _bot_info(self, request: web.Request) -> web.Response:
        await self._record(request)
        if self.bot_info_gate is not None:
            await self.bot_info_gate.wait()
        if (refused := self._refusal(request)) is not None:
            return refused
        return web.json_response(
            {"code": 0, "msg": "ok", "bot": {"open_id": BOT_OPEN_ID, "app_name": BOT_NAME}}
        )

    # -- helpers --------------------------------------------------------------------------

    def _tenant_token(self) -> str:
        return f"t-{self.port}-{self.tokens_issued}"

    def _refusal(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self._tenant_token()}":
            return web.json_response({"code": 99991663, "msg": "Invalid access token"}, status=400)
        queued = self._failures.get(request.path)
        if queued:
            failure = queued.pop(0)
            return web.json_response(
                {"code": failure.code, "msg": failure.msg},
                status=failure.status,
                headers=failure.headers,
            )
        return None

    async def _record(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        body = json.loads(raw) if raw else {}
        self.calls.append(
            Call(
                request.method,
                request.path,
                dict(request.query),
                body,
                request.headers.get("Authorization", ""),
            )
        )
        return body


def _ok(data: dict[str, Any]) -> web.Response:
    return web.json_response({"code": 0, "msg": "success", "data": data})


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key in ("text", "content"):
            if isinstance(node.get(key), str):
                yield node[key]
        for value in node.values():
            if isinstance(value, dict | list):
                yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


# -- payloads Lark sends, in the documented v2 shapes ------------------------------------------


def _header(event_type: str, event_id: str | None, token: str) -> dict[str, Any]:
    return {
        "event_id": event_id or uuid.uuid4().hex,
        "event_type": event_type,
        "create_time": str(int(time.time() * 1000)),
        "token": token,
        "app_id": APP_ID,
        "tenant_key": TENANT,
    }


def message_payload(
    user: str,
    chat_id: str,
    text: str | None = None,
    *,
    chat_type: str = "group",
    message_type: str = "text",
    content: dict[str, Any] | None = None,
    mentions: list[tuple[str, str]] = (),  # type: ignore[assignment]
    message_id: str | None = None,
    event_id: str | None = None,
    sender_type: str = "user",
    token: str = VERIFICATION_TOKEN,
) -> dict[str, Any]:
    """`im.message.receive_v1`; `mentions` are (open_id, name) for `@_user_1`, `@_user_2`…"""
    body = content if content is not None else {"text": text or ""}
    return {
        "schema": "2.0",
        "header": _header("im.message.receive_v1", event_id, token),
        "event": {
            "sender": {
                "sender_id": {"open_id": user, "union_id": f"on_{user}", "user_id": None},
                "sender_type": sender_type,
                "tenant_key": TENANT,
            },
            "message": {
                "message_id": message_id or f"om_{uuid.uuid4().hex[:16]}",
                "root_id": "",
                "parent_id": "",
                "create_time": str(int(time.time() * 1000)),
                "chat_id": chat_id,
                "chat_type": chat_type,
                "message_type": message_type,
                "content": json.dumps(body, ensure_ascii=False),
                "mentions": [
                    {
                        "key": f"@_user_{i}",
                        "id": {"open_id": open_id, "union_id": f"on_{open_id}", "user_id": ""},
                        "name": name,
                        "tenant_key": TENANT,
                    }
                    for i, (open_id, name) in enumerate(mentions, start=1)
                ],
            },
        },
    }


def history_message(
    user: str,
    chat_id: str,
    text: str,
    *,
    message_id: str | None = None,
    created: float | None = None,
    msg_type: str = "text",
    content: dict[str, Any] | None = None,
    sender_type: str = "user",
    deleted: bool = False,
    mentions: list[tuple[str, str]] = (),  # type: ignore[assignment]
    thread_of: str | None = None,
) -> dict[str, Any]:
    """One item of the message list API, in its documented shape (`created`: epoch seconds)."""
    millis = str(int((created if created is not None else time.time()) * 1000))
    message_id = message_id or f"om_{uuid.uuid4().hex[:16]}"
    return {
        "message_id": message_id,
        "root_id": thread_of or "",
        "parent_id": thread_of or "",
        "thread_id": f"omt_{thread_of}" if thread_of else "",
        "msg_type": msg_type,
        "create_time": millis,
        "update_time": millis,
        "deleted": deleted,
        "updated": False,
        "chat_id": chat_id,
        "sender": {
            "id": user,
            "id_type": "open_id" if sender_type == "user" else "app_id",
            "sender_type": sender_type,
            "tenant_key": TENANT,
        },
        "body": {"content": json.dumps(content or {"text": text}, ensure_ascii=False)},
        "mentions": [
            {
                "key": f"@_user_{i}",
                "id": open_id,
                "id_type": "open_id",
                "name": name,
                "tenant_key": TENANT,
            }
            for i, (open_id, name) in enumerate(mentions, start=1)
        ],
    }


def recall_payload(
    message_id: str, chat_id: str, token: str = VERIFICATION_TOKEN
) -> dict[str, Any]:
    return {
        "schema": "2.0",
        "header": _header("im.message.recalled_v1", None, token),
        "event": {
            "message_id": message_id,
            "chat_id": chat_id,
            "recall_time": str(int(time.time() * 1000)),
            "recall_type": "message_owner",
        },
    }


def card_action_payload(
    user: str,
    card: Sent,
    label: str,
    *,
    event_id: str | None = None,
    token: str = VERIFICATION_TOKEN,
) -> dict[str, Any]:
    """`card.action.trigger`: `user` clicks the button called `label` on a card we sent."""
    button = next(b for b in card.buttons if b["text"]["content"] == label)
    return {
        "schema": "2.0",
        "header": _header("card.action.trigger", event_id, token),
        "event": {
            "operator": {"tenant_key": TENANT, "open_id": user, "union_id": f"on_{user}"},
            "token": uuid.uuid4().hex,
            "action": {"value": button["value"], "tag": "button"},
            "host": "im_message",
            "context": {"open_message_id": card.message_id, "open_chat_id": f"oc_p2p_{user}"},
        },
    }


def url_verification(challenge: str, token: str = VERIFICATION_TOKEN) -> dict[str, Any]:
    return {"challenge": challenge, "token": token, "type": "url_verification"}


# -- webhook requests ------------------------------------------------------------------------


def encrypt(plaintext: str, key: str = ENCRYPT_KEY) -> str:
    """Lark's scheme: AES-256-CBC, key = sha256(encrypt key), random IV first, PKCS7, base64."""
    iv = os.urandom(16)
    data = plaintext.encode()
    pad = 16 - len(data) % 16
    cipher = AES.new(hashlib.sha256(key.encode()).digest(), AES.MODE_CBC, iv)
    return base64.b64encode(iv + cipher.encrypt(data + bytes([pad]) * pad)).decode()


def signed_request(
    payload: dict[str, Any],
    *,
    key: str = ENCRYPT_KEY,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """An encrypted body and the headers Lark signs it with."""
    body = json.dumps({"encrypt": encrypt(json.dumps(payload), key)}).encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or uuid.uuid4().hex[:12]
    signature = hashlib.sha256((ts + nonce + key).encode() + body).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Lark-Request-Timestamp": ts,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": signature,
    }
    return body, headers


# -- running the real Application against the fake ----------------------------------------


def lark_settings(data_dir: Any, fake: FakeLark, **overrides: Any) -> Any:
    """Settings of an Application that talks only to `fake` (no console)."""
    from tests.conftest import make_settings  # noqa: PLC0415

    values: dict[str, Any] = {
        "console": False,
        "admins": ["lark:ou_admin"],
        "lark_app_id": APP_ID,
        "lark_app_secret": APP_SECRET,
        "lark_domain": fake.url,
        "lark_mode": "ws",
    }
    values.update(overrides)
    return make_settings(data_dir, **values)


@contextlib.asynccontextmanager
async def running_fake() -> AsyncIterator[FakeLark]:
    """A started fake, stopped afterwards."""
    server = FakeLark()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def settle(app: Any) -> None:
    """Wait until the bus has handled everything handed to it (acked events are queued)."""
    bus = app.bus
    assert bus is not None
    await asyncio.wait_for(asyncio.gather(*(q.join() for q in bus._queues)), 10)  # noqa: SLF001


async def wait_for(predicate: Any, timeout: float = 30.0) -> None:
    """Poll a condition (a thread or the network is involved), failing after `timeout`."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
