"""The admin pages (/admin) against the real app: content, tenant scoping, access control."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import make_mocked_request
from pydantic import SecretStr

from bot.app import Application
from bot.consent.ledger import Mechanism
from bot.consent.notices import Purpose, notice
from bot.storage.models import Channel, ConsentEvent, Observation
from bot.web.admin_auth import COOKIE, SESSION_SECONDS, Access, AdminAuth
from tests.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ConsoleClient,
    make_settings,
    service_unavailable,
)

TOKEN = "test-admin-token-9f8e7d6c5b4a"
ALICE_WORDS = "Shipped the zebra-crossing migration for Falkenstein"
CAROL_WORDS = "carol-secret: the espresso machine is haunted"
POSTED_WORDS = ("Shipped", "zebra-crossing", "Falkenstein", "carol-secret", "espresso", "haunted")
PAGES = ("/admin", "/admin/consent", "/admin/skills", "/admin/audit")
SCREENSHOT = Path("/tmp/admin.png")


# -- helpers ---------------------------------------------------------------------------------


def base_of(app: Application) -> str:
    return f"http://127.0.0.1:{app.settings.web_port}"


async def fetch(session: ClientSession, url: str, **kwargs: Any) -> tuple[int, str, dict[str, str]]:
    async with session.get(url, allow_redirects=False, **kwargs) as r:
        return r.status, await r.text(), dict(r.headers)


async def page_text(console: ConsoleClient, path: str) -> str:
    status, text, _ = await fetch(console.session, console.base + path)
    assert status == 200, text
    return text


async def walk_through(console: ConsoleClient) -> None:
    await console.say("admin", "team", "/skill admin observe #team")
    await console.opt_in("alice")
    await console.say("alice", "team", ALICE_WORDS)
    await console.say("carol", "team", CAROL_WORDS)


@pytest.fixture
async def started(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Application]:
    """An app with the settings a test names: @pytest.mark.parametrize('started', [{…}])."""
    application = Application(make_settings(tmp_path / "data", **request.param))
    await application.start()
    try:
        yield application
    finally:
        await application.stop()


@pytest.fixture
async def session() -> AsyncIterator[ClientSession]:
    async with ClientSession() as opened:
        yield opened


token_app = pytest.mark.parametrize("started", [{"admin_token": TOKEN}], indirect=True)


# -- what the pages show ---------------------------------------------------------------------


async def test_pages_show_channel_grant_and_audit_but_no_message_text(
    app: Application, console: ConsoleClient
) -> None:
    await walk_through(console)
    channel = await Channel.get(channel_id="team")
    grant = await ConsentEvent.get(user_id="alice", action="grant")

    overview = await page_text(console, "/admin")
    assert "console:local" in overview
    assert ">team<" in overview and channel.notice_message_id in overview
    assert ">admin<" in overview  # approved by
    assert re.search(r'class="n">1</div><div class="what">people with consent', overview)
    assert re.search(r'class="n">1</div><div class="what">messages kept', overview)

    ledger = await page_text(console, "/admin/consent")
    assert grant.notice_sha256 in ledger and grant.notice_version in ledger
    assert "button:consent.agree" in ledger and grant.mechanism_ref in ledger
    assert ">alice<" in ledger and "carol" not in ledger

    audit = await page_text(console, "/admin/audit")
    assert "Audit chain intact" in audit
    assert "channel.observe" in audit and "consent.grant" in audit
    assert "alice" not in audit  # people appear by pseudonym only

    for path in (*PAGES, "/admin/consent?user=alice", "/admin/audit?user=alice"):
        text = await page_text(console, path)
        for word in POSTED_WORDS:
            assert word not in text, (path, word)


async def test_consent_ledger_filters_by_user_and_shows_withdrawals(
    app: Application, console: ConsoleClient
) -> None:
    await walk_through(console)
    await console.opt_in("bob")
    await console.say("bob", "dm:bob", "/skill optout")

    bob = await page_text(console, "/admin/consent?user=bob")
    assert 'badge withdraw">withdraw<' in bob and "command:optout" in bob
    assert ">alice<" not in bob
    everyone = await page_text(console, "/admin/consent")
    assert ">alice<" in everyone and ">bob<" in everyone


async def test_a_second_workspace_never_shows_on_the_first_ones_pages(
    app: Application, console: ConsoleClient
) -> None:
    await walk_through(console)
    services = app.services
    assert services is not None
    other = await services.directory.tenant("slack", "T0OTHER")
    await services.directory.observe(other, "C0SECRET", "acquisitions", "U0BOSS")
    shown = notice(Purpose.OBSERVE, "en", retention_days=90)
    await services.ledger.grant(other, "U0MALLORY", shown, Mechanism("button:x", "ev-other"))
    await services.audit.record("slack", "T0OTHER", "channel.observe", "U0BOSS", channel="C0SECRET")

    for path in PAGES:
        text = await page_text(console, path + "?ws=console:local")
        for secret in ("acquisitions", "C0SECRET", "U0MALLORY", "U0BOSS", "ev-other"):
            assert secret not in text, (path, secret)
    theirs = await page_text(console, "/admin?ws=slack:T0OTHER")
    assert "acquisitions" in theirs and ">team<" not in theirs
    picker = await page_text(console, "/admin")  # two workspaces: choose one first
    assert "slack" in picker and "T0OTHER" in picker and "acquisitions" not in picker
    missing = await fetch(console.session, console.base + "/admin?ws=slack:T0NOPE")
    assert missing[0] == 404 and "no workspace" in missing[1]


@pytest.mark.parametrize("started", [{"demo": True}], indirect=True)
async def test_a_withdrawn_contributors_rule_and_sources_leave_the_skill_page(
    started: Application, session: ClientSession
) -> None:
    console = ConsoleClient(session, base_of(started))
    bobs = {
        str(i) for i in await Observation.filter(person__user_id="bob").values_list("id", flat=True)
    }
    before = await page_text(console, "/admin/skills/code-review")
    assert "Decimal" in before and "bob (" in before and "print()" in before
    assert any(i in before for i in bobs)

    await console.say("bob", "team", "/skill optout")

    after = await page_text(console, "/admin/skills/code-review")
    assert "Decimal" not in after and "bob" not in after
    assert "print()" in after  # dave's rule stays
    assert "1 who withdrew are hidden" in after
    assert not any(i in after for i in bobs)
    listing = await page_text(console, "/admin/skills")
    assert "bob" not in listing and "code-review" in listing
    weekly = await page_text(console, "/admin/skills/weekly-report")
    assert not any(i in weekly for i in bobs)


# -- who may open them -------------------------------------------------------------------------


@token_app
async def test_without_the_token_every_page_asks_to_sign_in(
    started: Application, session: ClientSession
) -> None:
    for path in (*PAGES, "/admin/skills/weekly-report"):
        status, text, headers = await fetch(session, base_of(started) + path)
        assert status == 401, path
        assert '<form method="post" action="/admin/login">' in text
        assert "APPRENTICE_ADMIN_TOKEN" in text
        assert headers["WWW-Authenticate"].startswith("Bearer")
    wrong = {"Authorization": "Bearer not-the-token"}
    assert (await fetch(session, base_of(started) + "/admin", headers=wrong))[0] == 401


@token_app
async def test_the_bearer_header_opens_the_pages(
    started: Application, session: ClientSession
) -> None:
    for path in PAGES:
        status, text, headers = await fetch(
            session, base_of(started) + path, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert status == 200, (path, text)
        assert "default-src 'none'" in headers["Content-Security-Policy"]


@token_app
async def test_the_login_form_sets_an_httponly_cookie_without_the_token(
    started: Application, session: ClientSession
) -> None:
    base = base_of(started)
    async with session.post(
        base + "/admin/login", data={"token": "wrong", "next": "/admin"}, allow_redirects=False
    ) as r:
        assert r.status == 401 and "not right" in await r.text()
        assert COOKIE not in r.cookies
    async with session.post(
        base + "/admin/login", data={"token": TOKEN, "next": "/admin/audit"}, allow_redirects=False
    ) as r:
        assert r.status == 303 and r.headers["Location"] == "/admin/audit"
        cookie = r.cookies[COOKIE]
    assert TOKEN not in cookie.value
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/admin"

    status, text, _ = await fetch(
        session, base + "/admin/audit", headers={"Cookie": f"{COOKIE}={cookie.value}"}
    )
    assert status == 200 and "Sign out" in text
    forged = cookie.value[:-4] + "0000"
    assert (await fetch(session, base + "/admin", headers={"Cookie": f"{COOKIE}={forged}"}))[
        0
    ] == 401


@pytest.mark.parametrize("started", [{"web_host": "0.0.0.0"}], indirect=True)
async def test_without_a_token_a_public_web_host_locks_the_pages(
    started: Application, session: ClientSession
) -> None:
    status, text, _ = await fetch(session, base_of(started) + "/admin")
    assert status == 403
    assert "set APPRENTICE_ADMIN_TOKEN" in text


def test_access_rules_for_remote_addresses_and_cookie_expiry() -> None:
    def request(remote: str, headers: dict[str, str] | None = None) -> Any:
        transport = mock.Mock()
        transport.get_extra_info.return_value = (remote, 40000)
        return make_mocked_request("GET", "/admin", headers=headers, transport=transport)

    key = b"k" * 32
    open_local = AdminAuth(None, "127.0.0.1", key)
    assert open_local.access(request("127.0.0.1")) is Access.ALLOWED
    assert open_local.access(request("10.1.2.3")) is Access.FORBIDDEN  # e.g. a proxy's peer
    assert AdminAuth(None, "0.0.0.0", key).access(request("127.0.0.1")) is Access.FORBIDDEN

    locked = AdminAuth(SecretStr(TOKEN), "0.0.0.0", key)
    assert locked.access(request("10.1.2.3")) is Access.LOGIN
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert locked.access(request("10.1.2.3", bearer)) is Access.ALLOWED
    issued = locked.cookie_value(now=1_000_000)
    assert locked.cookie_valid(issued, now=1_000_000 + SESSION_SECONDS - 1)
    assert not locked.cookie_valid(issued, now=1_000_000 + SESSION_SECONDS + 1)
    assert not AdminAuth(SecretStr("another"), "0.0.0.0", key).cookie_valid(issued, now=1_000_000)


# -- in a browser --------------------------------------------------------------------------------


@pytest.mark.parametrize("started", [{"admin_token": TOKEN, "demo": True}], indirect=True)
async def test_signing_in_through_the_form_in_chromium_and_the_consent_ledger(
    started: Application,
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    if not CHROMIUM.exists():
        service_unavailable(f"{CHROMIUM} is missing: install Debian's chromium")
    base = base_of(started)
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1440, "height": 900})
            page = await context.new_page()
            await page.goto(base + "/admin/consent?ws=console:local")
            await page.get_by_label("Admin token").fill(TOKEN)
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_url("**/admin/consent?ws=console*")

            heading = page.get_by_role("heading", name="Consent ledger")
            await playwright_api.expect(heading).to_be_visible()
            rows = page.locator("tbody tr")
            await playwright_api.expect(rows.filter(has_text="alice")).not_to_have_count(0)
            await page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            await browser.close()
    assert SCREENSHOT.stat().st_size > 0
