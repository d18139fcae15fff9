"""The console page in a real browser (Chromium via Playwright) against the real app.

One browser is shared by the module; every test gets its own app, data directory and
browser context, so nothing leaks between tests.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import ClientSession

from bot.app import Application
from tests.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ConsoleClient,
    make_settings,
    service_unavailable,
)

playwright_api = pytest.importorskip("playwright.async_api")
Browser = playwright_api.Browser
Locator = playwright_api.Locator
Page = playwright_api.Page
async_playwright = playwright_api.async_playwright
expect = playwright_api.expect

pytestmark = pytest.mark.asyncio(loop_scope="module")

SCREENSHOT = Path("/tmp/console.png")
TIMEOUT_MS = 10_000


# -- fixtures -------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        service_unavailable(
            f"{CHROMIUM} is missing: install Debian's chromium to run the console page tests"
        )
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="module")
async def running_app(tmp_path: Path) -> AsyncIterator[Application]:
    """A real app on its own data directory and port."""
    application = Application(make_settings(tmp_path / "data"))
    await application.start()
    try:
        yield application
    finally:
        await application.stop()


@pytest.fixture
def base_url(running_app: Application) -> str:
    settings = running_app.settings
    return f"http://{settings.web_host}:{settings.web_port}"


@pytest_asyncio.fixture(loop_scope="module")
async def api(base_url: str) -> AsyncIterator[ConsoleClient]:
    async with ClientSession() as session:
        yield ConsoleClient(session, base_url)


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser, base_url: str) -> AsyncIterator[Page]:
    context = await browser.new_context(
        viewport={"width": 1280, "height": 800}, accept_downloads=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield opened
    finally:
        await context.close()  # closes the page's event stream before the app stops
    assert not errors, f"the page raised JavaScript errors: {errors}"


# -- helpers --------------------------------------------------------------------------------


async def open_console(page: Page, base_url: str, user: str, channel: str = "team") -> None:
    """Load the page, become `user` with the picker, open a conversation, wait until live."""
    await page.goto(base_url + "/")
    await page.get_by_test_id("user-select").select_option(user)
    await page.get_by_test_id("channel-dm" if channel == "dm" else f"channel-{channel}").click()
    await expect(page.get_by_test_id("stream-status")).to_have_attribute("data-state", "open")


async def send(page: Page, text: str) -> None:
    composer = page.get_by_test_id("composer")
    await composer.fill(text)
    await composer.press("Enter")


def messages(page: Page) -> Locator:
    return page.get_by_test_id("messages").get_by_test_id("message")


# -- tests ----------------------------------------------------------------------------------


async def test_admin_observing_team_shows_the_bots_notice_in_team(
    page: Page, base_url: str
) -> None:
    await open_console(page, base_url, "admin", "team")

    await send(page, "/skill admin observe #team")

    notice = messages(page).filter(has_text="Apprentice now observes #team")
    await expect(notice).to_have_count(1)
    await expect(notice).to_have_attribute("data-bot", "true")
    await expect(notice.get_by_test_id("bot-badge")).to_be_visible()
    # *bold* is rendered as <strong>, `code` as <code>.
    await expect(notice.locator("strong").first).to_have_text("Apprentice now observes #team")
    await expect(notice.locator("code").first).to_have_text("/skill optin")
    await expect(page.get_by_test_id("composer")).to_have_value("")


async def test_agreeing_to_the_optin_notice_replaces_the_card_with_a_confirmation(
    page: Page, base_url: str
) -> None:
    await open_console(page, base_url, "alice", "dm")

    await send(page, "/skill optin")

    card = messages(page).filter(has=page.get_by_role("button", name="Agree"))
    await expect(card).to_have_count(1)
    await expect(card.get_by_role("button", name="No thanks")).to_be_visible()
    await expect(card.get_by_role("button", name="Agree")).to_have_class("act primary")
    card_id = await card.get_attribute("data-message-id")

    await card.get_by_role("button", name="Agree").click()

    replaced = messages(page).and_(page.locator(f'[data-message-id="{card_id}"]'))
    await expect(replaced).to_contain_text("Thank you — you agreed")
    await expect(replaced.get_by_role("button")).to_have_count(0)
    await expect(page.get_by_role("button", name="Agree")).to_have_count(0)


async def test_mydata_after_posting_in_team_counts_one_message_and_offers_mydata_json(
    page: Page, base_url: str, api: ConsoleClient
) -> None:
    await api.say("admin", "team", "/skill admin observe #team")
    await api.opt_in("alice")
    await open_console(page, base_url, "alice", "team")

    await send(page, "Weekly report: shipped the CSV export")
    await expect(page.get_by_test_id("composer")).to_have_value("")  # the bot has handled it
    await page.get_by_test_id("channel-dm").click()
    await send(page, "/skill mydata")

    answer = messages(page).filter(has_text="What Apprentice holds about you")
    await expect(answer).to_contain_text("messages kept: 1")
    link = answer.get_by_test_id("attachment")
    await expect(link).to_contain_text("mydata.json")
    await expect(link).to_have_attribute("download", "mydata.json")
    async with page.expect_download() as download_info:
        await link.click()
    download = await download_info.value
    assert download.suggested_filename == "mydata.json"
    exported = json.loads(Path(await download.path()).read_text())
    assert [o["text"] for o in exported["observations"]] == [
        "Weekly report: shipped the CSV export"
    ]


async def test_a_message_from_another_user_appears_live_in_the_open_channel(
    page: Page, base_url: str, api: ConsoleClient
) -> None:
    await open_console(page, base_url, "alice", "team")
    await expect(page.get_by_test_id("empty")).to_be_visible()

    await api.say("bob", "team", "Standup in 5 minutes")

    arrived = messages(page).filter(has_text="Standup in 5 minutes")
    await expect(arrived).to_have_count(1)
    await expect(arrived.get_by_test_id("message-author")).to_have_text("bob")
    await expect(arrived).to_have_attribute("data-bot", "false")


async def test_an_overlong_message_shows_the_error_by_the_composer_and_keeps_the_draft(
    page: Page, base_url: str
) -> None:
    await open_console(page, base_url, "alice", "team")
    draft = "x" * 40_001

    await send(page, draft)

    error = page.get_by_test_id("error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("text is too long: 40001 characters")
    kept = await page.get_by_test_id("composer").evaluate("el => el.value")
    assert kept == draft
    await expect(page.get_by_test_id("send")).to_be_enabled()
    await expect(messages(page)).to_have_count(0)


async def test_a_new_dm_while_another_channel_is_open_lights_the_dm_dot_until_opened(
    page: Page, base_url: str
) -> None:
    await open_console(page, base_url, "alice", "team")
    dot = page.get_by_test_id("dm-unread")
    await expect(dot).to_be_hidden()

    await send(page, "/skill optin")  # answered in #team, the notice itself goes to the DM

    await expect(messages(page).filter(has_text="sent you a direct message")).to_have_count(1)
    await expect(dot).to_be_visible()
    await page.get_by_test_id("channel-dm").click()
    await expect(dot).to_be_hidden()
    await expect(page.get_by_role("button", name="Agree")).to_be_visible()


async def test_message_text_is_shown_as_text_never_as_html(
    page: Page, base_url: str, api: ConsoleClient
) -> None:
    await open_console(page, base_url, "alice", "team")

    await api.say("bob", "team", '<img src=x onerror="document.title=1"> *done* `ok`')

    shown = messages(page).filter(has_text="<img src=x")
    await expect(shown).to_have_count(1)
    await expect(shown.locator("img")).to_have_count(0)
    await expect(shown.locator("strong")).to_have_text("done")
    await expect(shown.locator("code")).to_have_text("ok")


async def test_typing_another_name_becomes_that_user_with_their_own_dm(
    page: Page, base_url: str
) -> None:
    await open_console(page, base_url, "alice", "dm")
    await page.get_by_test_id("user-other").fill("erin")
    await page.get_by_test_id("user-other").press("Enter")
    await expect(page.get_by_test_id("user-select")).to_have_value("erin")
    await expect(page.get_by_test_id("stream-status")).to_have_attribute("data-state", "open")

    await send(page, "/skill help")

    await expect(messages(page).filter(has_text="learns your team's recurring work")).to_have_count(
        1
    )
    await expect(messages(page).first.get_by_test_id("message-author")).to_have_text("erin")


async def test_screenshot_of_a_short_conversation(
    page: Page, base_url: str, api: ConsoleClient
) -> None:
    await api.say("admin", "team", "/skill admin observe #team")
    await api.say("bob", "team", "Morning! The *weekly report* template is in `docs/weekly.md`.")
    await open_console(page, base_url, "alice", "team")
    await send(page, "Thanks bob — I'll fill in the export section today.")
    await expect(page.get_by_test_id("dm-unread")).to_be_visible()  # the bot asked alice in a DM
    await api.say("carol", "team", "Does anyone know when the office wifi gets fixed?")
    await expect(messages(page).filter(has_text="office wifi")).to_have_count(1)

    await page.screenshot(path=str(SCREENSHOT))

    assert SCREENSHOT.stat().st_size > 0
