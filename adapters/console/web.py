"""The console's HTTP side: the workspace page and its JSON API."""

from __future__ import annotations

import asyncio
import json
from importlib import resources
from typing import Any

from aiohttp import web

from adapters.console.adapter import DEMO_PEOPLE, ConsoleAdapter, ConsoleMessage
from adapters.console.normalize import DM_PREFIX, BadRequest, parse_click, parse_message

MAX_BODY_BYTES = 256 * 1024


def add_routes(app: web.Application, console: ConsoleAdapter) -> None:
    handlers = _Handlers(console)
    app.router.add_get("/", handlers.page)
    app.router.add_get("/api/console/workspace", handlers.workspace)
    app.router.add_post("/api/console/messages", handlers.post_message)
    app.router.add_post("/api/console/actions", handlers.click)
    app.router.add_get("/api/console/channels/{channel}/messages", handlers.history)
    app.router.add_get("/api/console/stream", handlers.stream)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _replies(messages: list[ConsoleMessage]) -> web.Response:
    return web.json_response({"replies": [m.to_json() for m in messages]})


async def _json_body(request: web.Request) -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise BadRequest(f"the request body is larger than {MAX_BODY_BYTES} bytes")
    raw = await request.content.read(MAX_BODY_BYTES + 1)
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
        queue = self._console.subscribe()
        try:
            await response.write(b": connected\n\n")
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=15)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                channel = item["message"]["channel"]
                if channel.startswith(DM_PREFIX) and channel != DM_PREFIX + user:
                    continue
                await response.write(f"data: {json.dumps(item)}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._console.unsubscribe(queue)
        return response
