"""A pass-through proxy on 127.0.0.1 that records what a client sends to an OpenAI-compatible
server and what it answers: the request log the real-server tests inspect."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web


@dataclass
class RecordingProxy:
    upstream: str  # e.g. http://127.0.0.1:PORT (no /v1)
    requests: list[dict[str, Any]] = field(default_factory=list)
    responses: list[tuple[int, Any]] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None
    _session: ClientSession | None = None

    async def start(self) -> str:
        self._session = ClientSession(timeout=ClientTimeout(total=600))
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/v1"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def sent_text(self) -> str:
        """Every message content sent upstream, joined."""
        return "\n".join(m.get("content", "") for r in self.requests for m in r.get("messages", []))

    def answers(self) -> list[tuple[dict[str, Any], str, str]]:
        """(request, answer content, finish_reason) of each chat completion that succeeded."""
        found = []
        for request, (status, body) in zip(self.requests, self.responses, strict=True):
            if status == 200 and isinstance(body, dict) and body.get("choices"):
                choice = body["choices"][0]
                found.append(
                    (request, choice["message"].get("content") or "", choice["finish_reason"])
                )
        return found

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        raw = await request.read()
        if request.method == "POST":
            self.requests.append(json.loads(raw))
        async with self._session.request(
            request.method,
            self.upstream + request.path,
            data=raw or None,
            headers={"Content-Type": "application/json"},
        ) as upstream:
            body = await upstream.read()
            if request.method == "POST":
                try:
                    self.responses.append((upstream.status, json.loads(body)))
                except ValueError:
                    self.responses.append((upstream.status, body.decode(errors="replace")))
            return web.Response(body=body, status=upstream.status, content_type="application/json")
