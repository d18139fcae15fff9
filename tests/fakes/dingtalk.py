"""A local DingTalk for the adapter's tests, driven by the real dingtalk-stream client.

It serves, on 127.0.0.1, what a Stream-mode robot talks to: the connection-open endpoint
(`/v1.0/gateway/connections/open`), a Stream gateway websocket that sends SYSTEM, EVENT and
CALLBACK frames and records every ack (frames not acked are sent again on the next
connection, as DingTalk does), the access-token endpoint, session webhooks, the robot
message APIs and the interactive-card APIs. Every HTTP call is recorded.

It runs in its own thread with its own event loop, because the SDK makes blocking
`requests` calls: a fake sharing the test's loop could hide a call that blocks it.
Payload shapes follow DingTalk's documentation ("receive messages", "Stream mode
protocol", "robot message types", "card callback").
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import WSMsgType, web

CHATBOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"
WAIT_SECONDS = 30.0  # a bound for waits on conditions: reached only when something is broken
HOLD_LIMIT = 30.0
WEBHOOK_LIFETIME_MS = 90 * 60 * 1000


@dataclass(frozen=True)
class Person:
    staff_id: str
    nick: str


@dataclass(frozen=True)
class Group:
    id: str
    title: str


@dataclass
class Call:
    """One HTTP request the bot made."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class Sent:
    """One message the bot sent, whichever way it went (webhook, robot API or card)."""

    via: str  # "webhook" | "robot" | "card"
    kind: str  # "text", "actionCard", "sampleActionCard2", "card", …
    text: str
    to_user: str | None = None
    group: str | None = None
    buttons: list[dict[str, str]] = field(default_factory=list)
    out_track_id: str | None = None
    at: float = 0.0

    def button_links(self) -> dict[str, str]:
        """ActionCard buttons: label → the text the DingTalk client sends when tapped."""
        prefix = "dtmd://dingtalkclient/sendMessage?content="
        return {
            b["title"]: unquote(b["url"].removeprefix(prefix))
            for b in self.buttons
            if b.get("url", "").startswith(prefix)
        }


class FakeDingTalk:
    def __init__(
        self,
        *,
        client_id: str = "dingtestapp",
        client_secret: str = "test-secret",
        corp_id: str = "dingcorp0001",
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.corp_id = corp_id
        self.robot_user_id = "$:LWCP_v1:$robot0001"
        # Hold connection-open requests until release_open() (or HOLD_LIMIT), to see that the
        # bot's event loop runs on while its blocking SDK call waits.
        self.hold_open = False
        self.open_held = threading.Event()
        self._open_released = threading.Event()
        self._lock = threading.Lock()
        self.calls: list[Call] = []
        self.sent: list[Sent] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.ack_times: dict[str, float] = {}
        self.connections = 0
        self.cards: dict[str, dict[str, str]] = {}
        self._tokens: set[str] = set()
        self._tickets: set[str] = set()
        self._sessions: dict[str, tuple[str | None, str | None, int]] = {}
        self._failures: dict[str, list[tuple[int, dict[str, Any], dict[str, str]]]] = {}
        self._unacked: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._socket: web.WebSocketResponse | None = None
        self._socket_request: web.Request | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
        self._thread.start()
        if not self._ready.wait(WAIT_SECONDS):
            raise RuntimeError("the fake DingTalk did not start")

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(WAIT_SECONDS)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(WAIT_SECONDS)

    def _serve(self, sock: socket.socket) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = web.Application()
        app.router.add_post("/v1.0/gateway/connections/open", self._open_connection)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_post("/v1.0/oauth2/accessToken", self._access_token)
        app.router.add_post("/robot/sendBySession", self._session_webhook)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self._batch_send)
        app.router.add_post("/v1.0/robot/groupMessages/send", self._group_send)
        app.router.add_post("/v1.0/card/instances/createAndDeliver", self._card_create)
        app.router.add_put("/v1.0/card/instances", self._card_update)
        self._runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(self._runner.setup())
        loop.run_until_complete(web.SockSite(self._runner, sock).start())
        self._ready.set()
        loop.run_forever()
        loop.close()

    async def _shutdown(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what a test does --------------------------------------------------------------

    async def push(self, frame: dict[str, Any]) -> str:
        """Send a frame to the connected client (or on its next connection); its messageId."""
        await self._in_fake(self._push(frame))
        return str(frame["headers"]["messageId"])

    async def deliver(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Send a frame and wait for the client's ack."""
        return await self.wait_ack(await self.push(frame))

    async def drop_connection(self) -> None:
        """Cut the socket without a close frame, like a network failure."""
        await self._in_fake(self._drop())

    def fail_next(
        self,
        path: str,
        status: int,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next call to `path` with this status (e.g. 429 with Retry-After)."""
        with self._lock:
            self._failures.setdefault(path, []).append((status, body or {}, headers or {}))

    async def wait_ack(self, message_id: str, timeout: float = WAIT_SECONDS) -> dict[str, Any]:
        await self._until(lambda: message_id in self.acks, f"an ack of frame {message_id}", timeout)
        return self.acks[message_id]

    async def wait_connections(self, count: int, timeout: float = WAIT_SECONDS) -> None:
        await self._until(lambda: self.connections >= count, f"{count} connection(s)", timeout)

    async def wait_sent(
        self, matches: Callable[[Sent], bool], what: str, timeout: float = WAIT_SECONDS
    ) -> Sent:
        found: list[Sent] = []

        def check() -> bool:
            with self._lock:
                found[:] = [s for s in self.sent if matches(s)]
            return bool(found)

        await self._until(check, what, timeout)
        return found[0]

    async def wait_dm(self, user: Person, containing: str, timeout: float = WAIT_SECONDS) -> Sent:
        return await self.wait_sent(
            lambda s: s.to_user == user.staff_id and containing in s.text,
            f"a DM to {user.staff_id} containing {containing!r}",
            timeout,
        )

    async def wait_in_group(self, group: Group, containing: str) -> Sent:
        return await self.wait_sent(
            lambda s: s.group == group.id and containing in s.text,
            f"a message in {group.title} containing {containing!r}",
        )

    def release_open(self) -> None:
        self._open_released.set()

    def calls_to(self, path: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.path == path]

    def sent_to(self, user: Person) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.to_user == user.staff_id]

    # -- frames in DingTalk's documented shapes ------------------------------------------

    def chat(
        self,
        sender: Person,
        text: str,
        *,
        group: Group | None = None,
        at_bot: bool = False,
        mentions: tuple[Person, ...] = (),
        msg_id: str | None = None,
        webhook_expired: bool = False,
        msgtype: str = "text",
    ) -> dict[str, Any]:
        """A robot-message CALLBACK frame: one-to-one, or in `group`.

        Like DingTalk, the bot's own @-mention is not in `text` (write " help" for
        "@Apprentice help"); other people mentioned keep "@Nick" in the text and are listed,
        in order, with their staff ids in `atUsers`.
        """
        now = int(time.time() * 1000)
        session = uuid.uuid4().hex
        expires = now - 60_000 if webhook_expired else now + WEBHOOK_LIFETIME_MS
        with self._lock:
            self._sessions[session] = (
                None if group else sender.staff_id,
                group.id if group else None,
                expires,
            )
        data: dict[str, Any] = {
            "conversationId": group.id if group else f"cid-dm-{sender.staff_id}",
            "chatbotCorpId": self.corp_id,
            "chatbotUserId": self.robot_user_id,
            "msgId": msg_id or f"msg{uuid.uuid4().hex}",
            "senderNick": sender.nick,
            "isAdmin": False,
            "senderStaffId": sender.staff_id,
            "sessionWebhookExpiredTime": expires,
            "createAt": now,
            "senderCorpId": self.corp_id,
            "conversationType": "2" if group else "1",
            "senderId": f"$:LWCP_v1:${sender.staff_id}",
            "sessionWebhook": f"{self.base_url}/robot/sendBySession?session={session}",
            "robotCode": self.client_id,
            "msgtype": msgtype,
        }
        if msgtype == "text":
            data["text"] = {"content": text}
        else:
            data["content"] = {"downloadCode": "dl-" + uuid.uuid4().hex}
        if group:
            data["conversationTitle"] = group.title
            data["isInAtList"] = at_bot
            data["atUsers"] = [{"dingtalkId": self.robot_user_id}] if at_bot else []
            data["atUsers"] += [
                {"dingtalkId": f"$:LWCP_v1:${p.staff_id}", "staffId": p.staff_id} for p in mentions
            ]
        return self._frame("CALLBACK", CHATBOT_TOPIC, data)

    def card_click(self, user: Person, out_track_id: str, action_id: str, value: str) -> dict:
        """A card CALLBACK frame: `user` pressed a request button carrying these params."""
        content = {
            "cardPrivateData": {
                "actionIds": [action_id],
                "params": {"action_id": action_id, "value": value},
            }
        }
        data = {
            "extension": "{}",
            "corpId": self.corp_id,
            "spaceType": "IM_ROBOT",
            "userIdType": 1,
            "type": "actionCallback",
            "userId": user.staff_id,
            "content": json.dumps(content),
            "spaceId": user.staff_id,
            "outTrackId": out_track_id,
        }
        return self._frame("CALLBACK", CARD_TOPIC, data)

    def system(self, topic: str) -> dict[str, Any]:
        """A SYSTEM frame: `ping` (echo it back) or `disconnect` (reconnect now)."""
        return self._frame("SYSTEM", topic, {"opaque": uuid.uuid4().hex})

    def event(self, event_type: str) -> dict[str, Any]:
        """An EVENT frame from an event subscription."""
        frame = self._frame("EVENT", event_type, {"chatId": "chat0001", "title": "renamed"})
        frame["headers"].update(
            {
                "eventType": event_type,
                "eventId": uuid.uuid4().hex,
                "eventBornTime": str(int(time.time() * 1000)),
                "eventCorpId": self.corp_id,
                "eventUnifiedAppId": self.client_id,
            }
        )
        return frame

    def _frame(self, kind: str, topic: str, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "specVersion": "1.0",
            "type": kind,
            "headers": {
                "appId": self.client_id,
                "connectionId": uuid.uuid4().hex,
                "contentType": "application/json",
                "messageId": uuid.uuid4().hex,
                "time": str(int(time.time() * 1000)),
                "topic": topic,
            },
            "data": json.dumps(data, ensure_ascii=False),
        }

    # -- the fake's side (runs on its own loop) ------------------------------------------

    async def _in_fake(self, coroutine: Any) -> Any:
        assert self._loop is not None
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self._loop))

    async def _until(self, condition: Callable[[], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"the fake DingTalk waited {timeout}s for {what}")
            await asyncio.sleep(0.01)

    async def _push(self, frame: dict[str, Any]) -> None:
        self._unacked[frame["headers"]["messageId"]] = frame
        if self._socket is not None and not self._socket.closed:
            await self._socket.send_str(json.dumps(frame))

    async def _drop(self) -> None:
        if self._socket_request is not None and self._socket_request.transport is not None:
            self._socket_request.transport.abort()

    def _record(self, request: web.Request, body: Any) -> Call:
        call = Call(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            body=body,
            at=time.monotonic(),
        )
        with self._lock:
            self.calls.append(call)
        return call

    async def _read(self, request: web.Request) -> tuple[Call, web.Response | None]:
        try:
            body = await request.json()
        except ValueError:
            body = None
        call = self._record(request, body)
        with self._lock:
            queued = self._failures.get(request.path)
            failure = queued.pop(0) if queued else None
        if failure is not None:
            status, answer, headers = failure
            return call, web.json_response(answer, status=status, headers=headers)
        if not isinstance(body, dict):
            return call, web.json_response({"code": "InvalidParameter"}, status=400)
        return call, None

    def _authorized(self, request: web.Request) -> bool:
        with self._lock:
            return request.headers.get("x-acs-dingtalk-access-token") in self._tokens

    def _add_sent(self, sent: Sent) -> None:
        sent.at = time.monotonic()
        with self._lock:
            self.sent.append(sent)

    async def _open_connection(self, request: web.Request) -> web.Response:
        call, refused = await self._read(request)
        if refused is not None:
            return refused
        if self.hold_open:
            self.open_held.set()
            await asyncio.get_running_loop().run_in_executor(
                None, self._open_released.wait, HOLD_LIMIT
            )
            self.open_held.clear()
        body = call.body
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            return web.json_response(
                {"code": "InvalidAuthentication", "message": "bad credentials"}, status=401
            )
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        return web.json_response(
            {"endpoint": f"ws://127.0.0.1:{self.port}/gateway", "ticket": ticket}
        )

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            known = request.query.get("ticket") in self._tickets
            self._tickets.discard(request.query.get("ticket", ""))
        if not known:
            return web.Response(status=401, text="unknown ticket")
        websocket = web.WebSocketResponse(autoping=True)
        await websocket.prepare(request)
        self._socket, self._socket_request = websocket, request
        with self._lock:
            self.connections += 1
        for frame in list(self._unacked.values()):  # DingTalk resends what was not acked
            await websocket.send_str(json.dumps(frame))
        async for message in websocket:
            if message.type is not WSMsgType.TEXT:
                continue
            ack = json.loads(message.data)
            message_id = ack.get("headers", {}).get("messageId")
            with self._lock:
                self.acks[message_id] = ack
                self.ack_times[message_id] = time.monotonic()
            self._unacked.pop(message_id, None)
        if self._socket is websocket:
            self._socket, self._socket_request = None, None
        return websocket

    async def _access_token(self, request: web.Request) -> web.Response:
        call, refused = await self._read(request)
        if refused is not None:
            return refused
        if (call.body.get("appKey"), call.body.get("appSecret")) != (
            self.client_id,
            self.client_secret,
        ):
            return web.json_response(
                {"code": "invalidClientIdOrSecret", "message": "bad appKey or appSecret"},
                status=400,
            )
        token = "tok-" + uuid.uuid4().hex
        with self._lock:
            self._tokens.add(token)
        return web.json_response({"accessToken": token, "expireIn": 7200})

    async def _session_webhook(self, request: web.Request) -> web.Response:
        call, refused = await self._read(request)
        if refused is not None:
            return refused
        with self._lock:
            session = self._sessions.get(call.query.get("session", ""))
        if session is None or session[2] < time.time() * 1000:
            return web.json_response({"errcode": 300001, "errmsg": "session expired"})
        user, group, _ = session
        body = call.body
        if body.get("msgtype") == "actionCard":
            card = body["actionCard"]
            buttons = [{"title": b["title"], "url": b["actionURL"]} for b in card.get("btns", [])]
            sent = Sent("webhook", "actionCard", card["text"], user, group, buttons)
        else:
            sent = Sent(
                "webhook",
                body.get("msgtype", ""),
                body.get("text", {}).get("content", ""),
                user,
                group,
            )
        self._add_sent(sent)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _batch_send(self, request: web.Request) -> web.Response:
        call, refused = await self._robot_call(request)
        if refused is not None:
            return refused
        for user in call.body.get("userIds", []):
            self._add_sent(self._robot_sent(call.body, to_user=user))
        return web.json_response(
            {
                "processQueryKey": uuid.uuid4().hex,
                "invalidStaffIdList": [],
                "flowControlledStaffIdList": [],
            }
        )

    async def _group_send(self, request: web.Request) -> web.Response:
        call, refused = await self._robot_call(request)
        if refused is not None:
            return refused
        self._add_sent(self._robot_sent(call.body, group=call.body.get("openConversationId")))
        return web.json_response({"processQueryKey": uuid.uuid4().hex})

    async def _robot_call(self, request: web.Request) -> tuple[Call, web.Response | None]:
        call, refused = await self._read(request)
        if refused is None and not self._authorized(request):
            refused = web.json_response({"code": "InvalidAuthentication"}, status=401)
        if refused is None and call.body.get("robotCode") != self.client_id:
            refused = web.json_response({"code": "invalidParameter.robotCode"}, status=400)
        return call, refused

    @staticmethod
    def _robot_sent(
        body: dict[str, Any], *, to_user: str | None = None, group: str | None = None
    ) -> Sent:
        key = body.get("msgKey", "")
        param = json.loads(body.get("msgParam", "{}"))
        text = param.get("content") or param.get("text") or ""
        buttons = []
        if key == "sampleActionCard":
            buttons = [{"title": param["singleTitle"], "url": param["singleURL"]}]
        for i in range(1, 6):
            if f"actionTitle{i}" in param:
                buttons.append({"title": param[f"actionTitle{i}"], "url": param[f"actionURL{i}"]})
        return Sent("robot", key, text, to_user, group, buttons)

    async def _card_create(self, request: web.Request) -> web.Response:
        call, refused = await self._read(request)
        if refused is None and not self._authorized(request):
            refused = web.json_response({"code": "InvalidAuthentication"}, status=401)
        if refused is not None:
            return refused
        body = call.body
        params = body["cardData"]["cardParamMap"]
        space_type, _, space_id = body["openSpaceId"].removeprefix("dtv1.card//").partition(".")
        with self._lock:
            self.cards[body["outTrackId"]] = dict(params)
        self._add_sent(
            Sent(
                "card",
                "card",
                params.get("markdown", ""),
                to_user=space_id if space_type == "IM_ROBOT" else None,
                group=space_id if space_type == "IM_GROUP" else None,
                buttons=json.loads(params.get("buttons", "[]")),
                out_track_id=body["outTrackId"],
            )
        )
        return web.json_response({"success": True, "result": {"outTrackId": body["outTrackId"]}})

    async def _card_update(self, request: web.Request) -> web.Response:
        call, refused = await self._read(request)
        if refused is None and not self._authorized(request):
            refused = web.json_response({"code": "InvalidAuthentication"}, status=401)
        if refused is not None:
            return refused
        out_track_id = call.body.get("outTrackId")
        with self._lock:
            if out_track_id not in self.cards:
                return web.json_response({"code": "card.notFound"}, status=400)
            self.cards[out_track_id].update(call.body["cardData"]["cardParamMap"])
        return web.json_response({"success": True, "result": True})
