"""The admin pages and the "my data" page in a real browser (Debian's Chromium via
Playwright), against the real app: signing in by the chat link, refusals, acting with
confirmations, and a second workspace's admin. The tests save a screenshot of each main
page into docs/screenshots/ (the README shows them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import ClientSession, web

from bot.app import Application
from bot.consent.ledger import Mechanism
from bot.consent.notices import Purpose, notice
from bot.storage.models import Person, SkillVersion, WebLink
from bot.web.signin import Kind, digest, make_link
from tests.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ConsoleClient,
    make_settings,
    service_unavailable,
)
from tests.test_console_page import messages, open_console, send
from tests.web_helpers import LINK

playwright_api = pytest.importorskip("playwright.async_api")
Browser = playwright_api.Browser
Page = playwright_api.Page
expect = playwright_api.expect

pytestmark = pytest.mark.asyncio(loop_scope="module")

SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
TIMEOUT_MS = 30_000  # a ceiling for a loaded machine, not a timed assertion
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        service_unavailable(f"{CHROMIUM} is missing: install Debian's chromium")
    async with playwright_api.async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="module")
async def demo_app(tmp_path: Path) -> AsyncIterator[Application]:
    """The demo workspace: #team observed, three people in, three skills published."""
    application = Application(make_settings(tmp_path / "data", demo=True))
    await application.start()
    try:
        yield application
    finally:
        await application.stop()


@pytest.fixture
def base(demo_app: Application) -> str:
    return f"http://127.0.0.1:{demo_app.settings.web_port}"


@pytest_asyncio.fixture(loop_scope="module")
async def api(base: str) -> AsyncIterator[ConsoleClient]:
    async with ClientSession() as session:
        yield ConsoleClient(session, base)


async def new_page(browser: Browser, viewport: dict[str, int] = DESKTOP) -> Page:
    context = await browser.new_context(viewport=viewport, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    return await context.new_page()


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / name), full_page=True)
    assert (SHOTS / name).stat().st_size > 0


async def link_from_chat(page: Page, base: str, user: str, command: str) -> str:
    """Ask the bot in the console, as `user` in their DM, and read the link it sends."""
    await open_console(page, base, user, "dm")
    await send(page, command)
    reply = messages(page).filter(has_text="/signin/").last
    await expect(reply).to_be_visible()
    found = LINK.search(await reply.inner_text())
    assert found, "the bot's reply holds no sign-in link"
    return found.group(0)


async def sign_in(page: Page, link: str) -> None:
    """Open the link and press its button with the keyboard (it has the focus)."""
    await page.goto(link)
    await expect(page.get_by_role("button", name="Sign in")).to_be_focused()
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/admin" if "/admin/" in link else "**/mydata")


async def admin_page(browser: Browser, base: str) -> Page:
    page = await new_page(browser)
    link = await link_from_chat(page, base, "admin", "/skill admin web")
    await sign_in(page, link)
    return page


# -- signing in ---------------------------------------------------------------------------------


async def test_signing_in_by_the_chat_link_then_every_main_page(
    browser: Browser, base: str
) -> None:
    page = await new_page(browser)
    link = await link_from_chat(page, base, "admin", "/skill admin web")
    await shot(page, "console-sign-in-link.png")
    await sign_in(page, link)
    await expect(
        page.get_by_role("heading", name="Workspaces and observed channels")
    ).to_be_visible()
    await expect(page.get_by_text("signed in as")).to_be_visible()
    await shot(page, "admin-channels.png")
    for path, heading, name in (
        ("/admin/people", "People", "admin-people.png"),
        ("/admin/consent", "Consent ledger", "admin-consent.png"),
        ("/admin/activity", "Activity", "admin-activity.png"),
        ("/admin/skills", "Skills", "admin-skills.png"),
        ("/admin/skills/code-review", "code-review", "admin-skill.png"),
        ("/admin/audit", "Audit log", "admin-audit.png"),
    ):
        await page.goto(base + path)
        await expect(page.get_by_role("heading", name=heading).first).to_be_visible()
        await shot(page, name)
    await expect(page.get_by_text("Audit chain intact")).to_be_visible()

    phone = await new_page(browser, PHONE)
    await phone.context.add_cookies(await page.context.cookies())
    await phone.goto(base + "/admin/people")
    await expect(phone.get_by_role("heading", name="People")).to_be_visible()
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page is wider than a phone's screen"
    await shot(phone, "admin-people-phone.png")
    await page.context.close()
    await phone.context.close()


async def test_a_used_or_expired_link_is_refused_in_the_browser(
    browser: Browser, base: str, api: ConsoleClient
) -> None:
    page = await new_page(browser)
    link = await link_from_chat(page, base, "admin", "/skill admin web")
    await sign_in(page, link)
    await page.context.close()

    again = await new_page(browser)
    await again.goto(link)
    await expect(again.get_by_role("heading", name="This link was already used")).to_be_visible()
    await shot(again, "sign-in-refused.png")
    await again.goto(base + "/admin")
    await expect(again.get_by_role("heading", name="Sign in from chat")).to_be_visible()
    await shot(again, "sign-in-from-chat.png")

    late = LINK.search(
        " ".join(r["text"] for r in await api.say("admin", "dm:admin", "/skill admin web"))
    )
    assert late
    token = late.group(0).rsplit("/", 1)[1]
    await WebLink.filter(token_hash=digest(token)).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    await again.goto(late.group(0))
    await expect(again.get_by_role("heading", name="This link has expired")).to_be_visible()
    await again.context.close()


async def test_a_cross_site_form_post_is_refused(browser: Browser, base: str) -> None:
    """A page on another origin (here another port of 127.0.0.1: the same site, so the
    browser even sends the Lax cookie) submits a form to the erase URL."""
    evil = web.Application()

    async def attack(_: web.Request) -> web.Response:
        form = (
            f'<form id="f" method="post" action="{base}/admin/people/erase">'
            '<input name="user" value="alice"><input name="confirm" value="erase"></form>'
            "<script>document.getElementById('f').submit()</script>"
        )
        return web.Response(text=form, content_type="text/html")

    evil.router.add_get("/", attack)
    runner = web.AppRunner(evil)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        page = await admin_page(browser, base)
        await page.goto(f"http://127.0.0.1:{port}/")
        await page.wait_for_url(f"{base}/admin/people/erase")
        await expect(page.get_by_text("It came from another site.")).to_be_visible()
        assert await Person.exists(user_id="alice")
        await page.context.close()
    finally:
        await runner.cleanup()


# -- acting -----------------------------------------------------------------------------------


async def test_erasing_a_person_asks_first_then_erases(browser: Browser, base: str) -> None:
    page = await admin_page(browser, base)
    await page.goto(base + "/admin/people")
    row = page.locator("tbody tr").filter(has_text="alice")
    await row.get_by_role("link", name="Erase…").click()
    await expect(
        page.get_by_role("heading", name="Erase everything held about alice?")
    ).to_be_visible()
    await shot(page, "admin-erase-confirm.png")
    assert await Person.exists(user_id="alice")
    await page.get_by_role("button", name="Yes, erase alice").click()
    await expect(page.get_by_role("status")).to_contain_text("admin revocation")
    await expect(page.locator("tbody tr").filter(has_text="alice")).to_have_count(0)
    assert not await Person.exists(user_id="alice")
    await page.context.close()


async def test_publish_and_rollback_in_the_browser(
    browser: Browser, base: str, api: ConsoleClient
) -> None:
    await api.say("admin", "dm:admin", "/skill learn code-review #team")
    page = await admin_page(browser, base)
    await page.goto(base + "/admin/skills/code-review?v=2")
    await expect(page.get_by_role("heading", name="Changes from published v1")).to_be_visible()
    await page.get_by_role("button", name="Publish v2").click()
    await expect(page.get_by_role("status")).to_have_text("Published.")
    rows = await SkillVersion.filter(skill__name="code-review").order_by("number")
    assert [r.status for r in rows] == ["archived", "published"]
    await shot(page, "admin-skill-published.png")

    await page.get_by_role("button", name="Roll back to v1").click()
    await expect(page.get_by_role("status")).to_have_text("Rolled back.")
    rows = await SkillVersion.filter(skill__name="code-review").order_by("number")
    assert [r.status for r in rows] == ["published", "archived"]
    await page.context.close()


async def test_my_data_page_withdraw_then_erase(
    browser: Browser, base: str, api: ConsoleClient
) -> None:
    page = await new_page(browser)
    link = await link_from_chat(page, base, "bob", "/skill mydata")
    await sign_in(page, link)
    await expect(
        page.get_by_role("heading", name="What Apprentice holds about bob")
    ).to_be_visible()
    await shot(page, "mydata.png")
    async with page.expect_download() as download:
        await page.get_by_role("link", name="Download everything (JSON)").click()
    assert (await download.value).suggested_filename == "mydata.json"

    await page.get_by_role("link", name="Stop taking part…").click()
    await page.get_by_role("button", name="Yes, stop now").click()
    await expect(page.get_by_role("status")).to_contain_text("Stopped")
    await expect(page.get_by_text("Consent in force: none")).to_be_visible()

    await page.get_by_role("link", name="Erase everything…").click()
    await expect(
        page.get_by_role("heading", name="Erase everything held about you?")
    ).to_be_visible()
    await page.get_by_role("button", name="Yes, erase everything").click()
    await expect(page.get_by_role("heading", name="Everything is erased")).to_be_visible()
    assert not await Person.exists(user_id="bob")
    await page.goto(base + "/mydata")
    await expect(page.get_by_role("heading", name="Sign in from chat")).to_be_visible()
    await page.context.close()


async def test_a_second_workspaces_admin_sees_nothing_of_the_first(
    browser: Browser, base: str, demo_app: Application
) -> None:
    services = demo_app.services
    assert services is not None
    other = await services.directory.tenant("slack", "T0OTHER")
    await services.directory.observe(other, "C0DEALS", "deals", "U0BOSS")
    shown = notice(Purpose.OBSERVE, "en", retention_days=90)
    await services.ledger.grant(other, "U0MALLORY", shown, Mechanism("button:x", "ev-other"))
    demo_app.settings.admins.append("slack:U0BOSS")
    link = await make_link(demo_app.settings, other, "U0BOSS", Kind.ADMIN)  # as admin-link does

    page = await new_page(browser)
    await sign_in(page, link)
    await expect(page.get_by_text("slack:T0OTHER").first).to_be_visible()
    for path in (
        "/admin",
        "/admin/people",
        "/admin/consent",
        "/admin/activity",
        "/admin/skills",
        "/admin/audit",
    ):
        await page.goto(base + path)
        text = await page.locator("main").inner_text()
        for theirs in ("alice", "bob", "#team", "code-review", "console:local"):
            assert theirs not in text, (path, theirs)
    await page.goto(base + "/admin/people?ws=console:local")
    await expect(page.get_by_role("heading", name="Not your workspace")).to_be_visible()
    await page.context.close()
