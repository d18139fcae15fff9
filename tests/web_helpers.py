"""Signing in to the web pages the way a person does: ask in chat, open the link."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import ClientSession, CookieJar

from tests.conftest import ConsoleClient

LINK = re.compile(r"https?://[^\s)]+/(?:admin|mydata)/signin/[A-Za-z0-9_-]+")


def link_in(replies: list[dict[str, Any]]) -> str:
    for reply in replies:
        found = LINK.search(reply["text"])
        if found:
            return found.group(0)
    raise AssertionError(f"no sign-in link in {[r['text'] for r in replies]}")


async def admin_link(console: ConsoleClient, user: str = "admin") -> str:
    return link_in(await console.say(user, f"dm:{user}", "/skill admin web"))


async def mydata_link(console: ConsoleClient, user: str) -> str:
    return link_in(await console.say(user, f"dm:{user}", "/skill mydata"))


def browser_session() -> ClientSession:
    """A client that keeps cookies for 127.0.0.1, as a browser does."""
    return ClientSession(cookie_jar=CookieJar(unsafe=True))


async def redeem(session: ClientSession, link: str) -> tuple[int, str, dict[str, str]]:
    """Open the link and press its Sign in button; returns the button's answer."""
    async with session.get(link, allow_redirects=False) as r:
        assert r.status == 200, await r.text()
    async with session.post(link, allow_redirects=False) as r:
        return r.status, await r.text(), dict(r.headers)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def form_fields(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the page's form that posts to `action` (its first one)."""
    start = page.find(f'action="{action}"')
    assert start >= 0, f"the page has no form posting to {action}"
    form = page[start : page.index("</form>", start)]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
