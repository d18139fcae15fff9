"""A local OpenAI-compatible endpoint that records every request (chat completions only).

Modes: "ok" answers with `reply`; "429" and "500" answer with that status; "slow" waits
longer than any client timeout used in tests; "no-json-schema" refuses OpenAI's json_schema
response format with a 500 naming it (as llama-cpp-python's server does) and accepts llama.cpp's
json_object + schema. `answers` scripts the next answers, one per request, before `reply`:
a string, `Cut(text)` (finish_reason "length") or a function of the request body. Runs on
127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Cut:
    """An answer cut off at the token limit."""

    text: str


Answer = str | Cut | Callable[[dict[str, Any]], str]


@dataclass
class FakeOpenAI:
    reply: str = "MODEL-WRITTEN REPORT"
    mode: str = "ok"
    slow_seconds: float = 5.0
    answers: list[Answer] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
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

    def sent_text(self) -> str:
        """Everything the client sent in message contents, joined."""
        return "\n".join(m.get("content", "") for r in self.requests for m in r.get("messages", []))

    def prompts(self) -> list[str]:
        """The user message of each request, in order."""
        return [r["messages"][-1]["content"] for r in self.requests]

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        if self.mode == "429":
            return web.json_response(
                {"error": {"message": "rate limited", "type": "rate_limit_error"}},
                status=429,
                headers={"retry-after": "1"},
            )
        if self.mode == "500":
            return web.json_response(
                {"error": {"message": "boom", "type": "server_error"}}, status=500
            )
        if self.mode == "slow":
            await asyncio.sleep(self.slow_seconds)
        form = (body.get("response_format") or {}).get("type")
        if self.mode == "no-json-schema" and form == "json_schema":
            message = "{'type': 'literal_error', 'loc': ('body', 'response_format', 'type')}"
            return web.json_response(
                {"error": {"message": message, "type": "internal_server_error"}}, status=500
            )
        answer = self.answers.pop(0) if self.answers else self.reply
        finish = "length" if isinstance(answer, Cut) else "stop"
        if isinstance(answer, Cut):
            answer = answer.text
        elif callable(answer):
            answer = answer(body)
        return web.json_response(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer},
                        "finish_reason": finish,
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )
