"""Shared fixtures: a real app on a temporary SQLite file, driven through the console API."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from bot.app import Application
from bot.settings import Settings

REQUIRE_SERVICES = os.environ.get("APPRENTICE_REQUIRE_SERVICES") == "1"

# Debian's Chromium, never a downloaded browser; without the background-networking flags
# it tries to reach Google's hosts, which this closed network refuses.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

for _proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_proxy, None)


def service_unavailable(reason: str) -> None:
    """Skip locally when a service is missing; fail in CI, where .ci/run starts it."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (APPRENTICE_REQUIRE_SERVICES=1: CI must provide it)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "web_port": free_port(),
        "demo": False,
        "admins": ["console:admin"],
    }
    values.update(overrides)
    return Settings(**values)


class ConsoleClient:
    """Talks to a running app the way a script would: the console JSON API."""

    def __init__(self, session: ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def say(self, user: str, channel: str, text: str) -> list[dict[str, Any]]:
        async with self.session.post(
            f"{self.base}/api/console/messages",
            json={"user": user, "channel": channel, "text": text},
        ) as r:
            body = await r.json()
            assert r.status == 200, body
            return body["replies"]

    async def click(self, user: str, button: dict[str, Any]) -> list[dict[str, Any]]:
        payload = {"user": user, "action_id": button["action_id"], "value": button["value"]}
        async with self.session.post(f"{self.base}/api/console/actions", json=payload) as r:
            body = await r.json()
            assert r.status == 200, body
            return body["replies"]

    async def opt_in(self, user: str) -> None:
        replies = await self.say(user, f"dm:{user}", "/skill optin")
        agree = next(b for r in replies for b in r["buttons"] if b["label"] == "Agree")
        await self.click(user, agree)

    async def raw_post(self, path: str, data: bytes | str) -> tuple[int, dict[str, Any]]:
        async with self.session.post(
            f"{self.base}{path}", data=data, headers={"Content-Type": "application/json"}
        ) as r:
            return r.status, await r.json()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Application]:
    application = Application(settings)
    await application.start()
    try:
        yield application
    finally:
        await application.stop()


@pytest.fixture
async def console(app: Application) -> AsyncIterator[ConsoleClient]:
    base = f"http://{app.settings.web_host}:{app.settings.web_port}"
    async with ClientSession() as session:
        yield ConsoleClient(session, base)
