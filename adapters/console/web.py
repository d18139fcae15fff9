"""The console's HTTP side: the workspace page and its JSON API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web

from adapters.console.adapter import DEMO_PEOPLE, ConsoleAdapter, ConsoleMessage
from adapters.console.normalize import DM_PREFIX, BadRequest, parse_click, parse_message
from bot.web.local_only import why_not_local

MAX_BODY_BYTES = 256 * 1024
KEEP_ALIVE_SECONDS = 15


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_routes(app: web.Application, console: ConsoleAdapter, listening_on: str) -> None:
    """The console's page and API, answered only for this machine (bot/web/local_only.py):
    whoever reaches the console acts as any console user, admins included."""
    handlers = _Handlers(console)

    def local(handler: Handler) -> Handler:
        async def guard(request: web.Request) -> web.StreamResponse:
            reason = why_not_local(request, listening_on)
            if reason is not None:
                return web.Response(
                    status=403,
                    text=f"The console answers only on this machine, and this request did not "
                    f"come from it ({reason}). Open http://127.0.0.1:PORT/ on the machine "
                    "that runs Apprentice, with APPRENTICE_WEB_HOST=127.0.0.1.",
                )
            return await handler(request)

        return guard

    app.router.add_get("/", local(handlers.page))
    app.router.add_get("/api/console/workspace", local(handlers.workspace))
    app.router.add_post("/api/console/messages", local(handlers.post_message))
    app.router.add_post("/api/console/actions", local(handlers.click))
    app.router.add_get("/api/console/channels/{channel}/messages", local(handlers.history))
    app.router.add_get("/api/console/stream", local(handlers.stream))

    async def end_streams(_: web.Application) -> None:
        console.close_streams()

    app.on_shutdown.append(end_streams)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _replies(messages: list[ConsoleMessage]) -> web.Response:
    return web.json_response({"replies": [m.to_json() for m in messages]})


async def _json_body(request: web.Request) -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise BadRequest(f"the request body is larger than {MAX_BODY_BYTES} bytes")
    raw = await request.read()  # the whole body, however many packets it came in
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(f"the request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("the body is not valid JSON; send a JSON object") from exc


class _Handlers:
    def __init__(self, console: ConsoleAdapter) -> None:
        self._console = console

    async def page(self, request: web.Request) -> web.Response:
        html = resources.files("adapters.console").joinpath("static/index.html").read_text()
        return web.Response(text=html, content_type="text/html")

    async def workspace(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"people": list(DEMO_PEOPLE), "channels": self._console.channels()}
        )

    async def post_message(self, request: web.Request) -> web.Response:
        try:
            posted = parse_message(await _json_body(request))
        except BadRequest as exc:
            return _error(400, str(exc))
        return _replies(await self._console.post(posted))

    async def click(self, request: web.Request) -> web.Response:
        try:
            click = parse_click(await _json_body(request))
        except BadRequest as exc:
            return _error(400, str(exc))
        return _replies(await self._console.click(click))

    async def history(self, request: web.Request) -> web.Response:
        channel = request.match_info["channel"]
        owner = channel.removeprefix(DM_PREFIX)
        if channel.startswith(DM_PREFIX) and request.query.get("user") != owner:
            return _error(403, f"a DM's history is shown only to its person: add ?user={owner}")
        messages = self._console.messages(channel)
        if messages is None:
            return _error(404, f"there is no channel {channel!r}; post a message to create it")
        return web.json_response({"messages": [m.to_json() for m in messages]})

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: every new or updated message this user may see."""
        user = request.query.get("user", "")
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        subscription = self._console.subscribe()
        try:
            await response.write(b": connected\n\n")
            idle = 0.0
            while not subscription.closed:
                try:
                    item = await asyncio.wait_for(subscription.queue.get(), timeout=1)
                except TimeoutError:
                    idle += 1
                    if idle >= KEEP_ALIVE_SECONDS:
                        idle = 0.0
                        await response.write(b": keep-alive\n\n")
                    continue
                idle = 0.0
                channel = item["message"]["channel"]
                if channel.startswith(DM_PREFIX) and channel != DM_PREFIX + user:
                    continue
                await response.write(f"data: {json.dumps(item)}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._console.unsubscribe(subscription)
        return response
