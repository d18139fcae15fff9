"""Signing in to the web pages, and who may open them: no admin URL answers without a
session or the token, whatever the peer address or proxy headers; a forged, replayed or
expired link and a cross-site post are refused; the console answers this machine only."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import make_mocked_request
from pydantic import SecretStr

from bot.app import Application
from bot.storage.models import Channel, Person, WebLink, WebSession
from bot.web.admin_auth import COOKIES
from bot.web.local_only import why_not_local
from bot.web.signin import Kind, digest
from tests.conftest import ConsoleClient, make_settings
from tests.web_helpers import admin_link, browser_session, csrf_of, mydata_link, redeem

TOKEN = "test-admin-token-9f8e7d6c5b4a"
GET_PAGES = (
    "/admin",
    "/admin/",
    "/admin/people",
    "/admin/people/erase?user=alice",
    "/admin/consent",
    "/admin/activity",
    "/admin/skills",
    "/admin/skills/weekly-report",
    "/admin/skills/weekly-report/diff?a=1&b=2",
    "/admin/audit",
)
POST_PAGES = (
    "/admin/channels/observe",
    "/admin/channels/unobserve",
    "/admin/people/erase",
    "/admin/skills/weekly-report/publish",
    "/admin/skills/weekly-report/rollback",
)
PROXIED = (
    {},
    {"X-Forwarded-For": "127.0.0.1"},
    {"Forwarded": "for=127.0.0.1;proto=https"},
    {"X-Real-IP": "127.0.0.1"},
)


async def status_of(
    session: ClientSession, method: str, url: str, **kwargs: Any
) -> tuple[int, str, dict[str, str]]:
    async with session.request(method, url, allow_redirects=False, **kwargs) as r:
        return r.status, await r.text(), dict(r.headers)


@pytest.fixture
async def token_app(tmp_path: Path) -> AsyncIterator[Application]:
    application = Application(make_settings(tmp_path / "data", admin_token=SecretStr(TOKEN)))
    await application.start()
    try:
        yield application
    finally:
        await application.stop()


@pytest.fixture
async def token_console(token_app: Application) -> AsyncIterator[ConsoleClient]:
    async with ClientSession() as session:
        yield ConsoleClient(session, f"http://127.0.0.1:{token_app.settings.web_port}")


# -- nothing answers without a session -------------------------------------------------------


async def test_every_admin_url_redirects_to_sign_in_from_chat_whatever_the_headers(
    console: ConsoleClient,
) -> None:
    """The default settings (no token), the loopback peer a same-host proxy would be."""
    await console.say("admin", "team", "/skill admin observe #team")
    session, base = console.session, console.base
    for headers in PROXIED:
        for path in GET_PAGES:
            status, _, answer = await status_of(session, "GET", base + path, headers=headers)
            assert status == 303 and answer["Location"] == "/admin/signin", (path, headers)
        for path in POST_PAGES:
            status, _, answer = await status_of(
                session,
                "POST",
                base + path,
                data={"channel": "team", "user": "alice"},
                headers=headers,
            )
            assert status == 303 and answer["Location"] == "/admin/signin", (path, headers)
    status, text, _ = await status_of(session, "GET", base + "/admin/signin")
    assert status == 401 and "/skill admin web" in text and "apprentice admin-link" in text
    assert await Channel.filter(observed=True).count() == 1  # no post changed anything


async def test_the_admin_token_reads_every_page_and_changes_nothing(
    token_console: ConsoleClient,
) -> None:
    await token_console.say("admin", "team", "/skill admin observe #team")
    session, base = token_console.session, token_console.base
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    for path in ("/admin", "/admin/people", "/admin/consent", "/admin/activity", "/admin/audit"):
        status, text, headers = await status_of(session, "GET", base + path, headers=bearer)
        assert status == 200, (path, text)
        assert "default-src 'none'" in headers["Content-Security-Policy"]
    wrong = {"Authorization": "Bearer not-the-token"}
    assert (await status_of(session, "GET", base + "/admin", headers=wrong))[0] == 303
    status, text, _ = await status_of(
        session,
        "POST",
        base + "/admin/channels/unobserve",
        data={"channel": "team"},
        headers=bearer,
    )
    assert status == 403 and "signed in from chat" in text
    assert await Channel.filter(channel_id="team", observed=True).exists()


async def test_a_session_cookie_is_httponly_lax_scoped_and_never_the_link(
    app: Application, console: ConsoleClient
) -> None:
    link = await admin_link(console)
    async with browser_session() as browser:
        status, _, headers = await redeem(browser, link)
        assert status == 303 and headers["Location"] == "/admin"
        cookie = headers["Set-Cookie"]
        assert cookie.startswith(COOKIES[Kind.ADMIN] + "=")
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/admin" in cookie
        assert "Max-Age=" in cookie and "Secure" not in cookie  # served over plain http here
        token = cookie.split(";")[0].split("=", 1)[1]
        assert token not in link
        row = await WebSession.get(token_hash=digest(token))
        assert row.user_id == "admin" and row.kind == "admin"
        assert not await WebSession.filter(token_hash=token).exists()  # only its hash is kept
        assert (await status_of(browser, "GET", console.base + "/admin"))[0] == 200


@pytest.mark.parametrize("settings_extra", [{"public_url": "https://apprentice.example.com"}])
async def test_behind_an_https_public_url_the_cookie_is_secure_and_links_point_there(
    tmp_path: Path, settings_extra: dict[str, str]
) -> None:
    application = Application(make_settings(tmp_path / "data", **settings_extra))
    await application.start()
    try:
        async with browser_session() as browser:
            base = f"http://127.0.0.1:{application.settings.web_port}"
            link = await admin_link(ConsoleClient(browser, base))
            assert link.startswith("https://apprentice.example.com/admin/signin/")
            local = base + link.removeprefix("https://apprentice.example.com")
            _, _, headers = await redeem(browser, local)
            assert "Secure" in headers["Set-Cookie"]
    finally:
        await application.stop()


async def test_signing_in_rotates_the_session_a_planted_cookie_is_worth_nothing(
    app: Application, console: ConsoleClient
) -> None:
    async with browser_session() as browser:
        await redeem(browser, await admin_link(console))
        first = next(c.value for c in browser.cookie_jar if c.key == COOKIES[Kind.ADMIN])
        await redeem(browser, await admin_link(console))
        second = next(c.value for c in browser.cookie_jar if c.key == COOKIES[Kind.ADMIN])
    assert first != second
    assert not await WebSession.filter(token_hash=digest(first)).exists()
    async with ClientSession() as other:
        cookie = {"Cookie": f"{COOKIES[Kind.ADMIN]}={first}"}
        assert (await status_of(other, "GET", console.base + "/admin", headers=cookie))[0] == 303


# -- the link works once, for ten minutes --------------------------------------------------------


async def test_a_used_link_is_refused_and_opening_it_does_not_spend_it(
    app: Application, console: ConsoleClient
) -> None:
    link = await admin_link(console)
    async with browser_session() as preview:  # a chat's link preview only GETs
        for _ in range(2):
            status, text, _ = await status_of(preview, "GET", link)
            assert status == 200 and "Sign in" in text and "admin" in text
    async with browser_session() as browser:
        assert (await redeem(browser, link))[0] == 303
    async with browser_session() as thief:
        status, text, _ = await status_of(thief, "POST", link)
        assert status == 403 and "already used" in text
        assert COOKIES[Kind.ADMIN] not in {c.key for c in thief.cookie_jar}
        status, text, _ = await status_of(thief, "GET", link)
        assert status == 403 and "already used" in text


async def test_an_expired_link_is_refused(app: Application, console: ConsoleClient) -> None:
    link = await admin_link(console)
    token = link.rsplit("/", 1)[1]
    await WebLink.filter(token_hash=digest(token)).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    async with browser_session() as browser:
        status, text, _ = await status_of(browser, "POST", link)
        assert status == 403 and "expired" in text and "/skill admin web" in text
        assert (await status_of(browser, "GET", console.base + "/admin"))[0] == 303


async def test_a_link_that_is_made_ten_minutes_from_its_sending(
    app: Application, console: ConsoleClient
) -> None:
    before = datetime.now(UTC)
    link = await admin_link(console)
    row = await WebLink.get(token_hash=digest(link.rsplit("/", 1)[1]))
    lifetime = row.expires_at - before
    assert timedelta(minutes=9) < lifetime <= timedelta(minutes=10, seconds=5)


async def test_forged_links_are_refused(app: Application, console: ConsoleClient) -> None:
    real = await admin_link(console)
    token = real.rsplit("/", 1)[1]
    forged = (
        real[: -len(token)] + ("A" if token[0] != "A" else "B") + token[1:],
        real[: -len(token)] + "x" * 43,
        real.replace("/admin/signin/", "/mydata/signin/"),  # the other kind of page
    )
    async with browser_session() as browser:
        for link in forged:
            status, text, _ = await status_of(browser, "POST", link)
            assert status == 403 and "not valid" in text, link
    async with browser_session() as browser:  # the real one still works
        assert (await redeem(browser, real))[0] == 303


async def test_only_admins_get_a_link_and_a_removed_admins_session_ends(
    app: Application, console: ConsoleClient
) -> None:
    replies = await console.say("bob", "dm:bob", "/skill admin web")
    assert "admin commands are for workspace admins" in replies[0]["text"]
    assert not await WebLink.exists()
    async with browser_session() as browser:
        await redeem(browser, await admin_link(console))
        assert (await status_of(browser, "GET", console.base + "/admin"))[0] == 200
        app.settings.admins.remove("console:admin")
        assert (await status_of(browser, "GET", console.base + "/admin"))[0] == 303


# -- forms -------------------------------------------------------------------------------------


async def test_a_cross_site_or_tokenless_post_is_refused_even_with_the_session(
    app: Application, console: ConsoleClient
) -> None:
    await console.opt_in("alice")
    async with browser_session() as browser:
        await redeem(browser, await admin_link(console))
        status, page, _ = await status_of(browser, "GET", console.base + "/admin/people")
        csrf = csrf_of(page)
        url = console.base + "/admin/people/erase"
        form = {"user": "alice", "confirm": "erase"}
        attempts = (
            ({**form}, {}),  # no token
            ({**form, "csrf": csrf + "x"}, {}),  # a wrong one
            ({**form, "csrf": csrf}, {"Origin": "http://127.0.0.1:1"}),  # another origin
            ({**form, "csrf": csrf}, {"Origin": "https://evil.example"}),
            ({**form, "csrf": csrf}, {"Sec-Fetch-Site": "cross-site"}),
            ({**form, "csrf": csrf}, {"Sec-Fetch-Site": "same-site"}),
        )
        for data, headers in attempts:
            status, text, _ = await status_of(browser, "POST", url, data=data, headers=headers)
            assert status == 403 and "refused" in text, (data, headers)
        assert await Person.exists(user_id="alice")
        origin = {"Origin": console.base, "Sec-Fetch-Site": "same-origin"}
        status, _, _ = await status_of(
            browser, "POST", url, data={**form, "csrf": csrf}, headers=origin
        )
        assert status == 303 and not await Person.exists(user_id="alice")


async def test_signing_out_ends_the_session(app: Application, console: ConsoleClient) -> None:
    async with browser_session() as browser:
        await redeem(browser, await admin_link(console))
        _, page, _ = await status_of(browser, "GET", console.base + "/admin")
        stolen = next(c.value for c in browser.cookie_jar if c.key == COOKIES[Kind.ADMIN])
        status, _, headers = await status_of(
            browser, "POST", console.base + "/admin/signout", data={"csrf": csrf_of(page)}
        )
        assert status == 303 and headers["Location"] == "/admin/signin"
    async with ClientSession() as other:
        cookie = {"Cookie": f"{COOKIES[Kind.ADMIN]}={stolen}"}
        assert (await status_of(other, "GET", console.base + "/admin", headers=cookie))[0] == 303


async def test_a_mydata_session_opens_only_the_persons_own_page_not_the_admin_pages(
    app: Application, console: ConsoleClient
) -> None:
    await console.opt_in("alice")
    async with browser_session() as browser:
        status, _, headers = await redeem(browser, await mydata_link(console, "alice"))
        assert status == 303 and headers["Location"] == "/mydata"
        assert "Path=/mydata" in headers["Set-Cookie"]
        status, text, _ = await status_of(browser, "GET", console.base + "/mydata")
        assert status == 200 and "What Apprentice holds about alice" in text
        token = next(c.value for c in browser.cookie_jar if c.key == COOKIES[Kind.PERSON])
    async with ClientSession() as other:  # the same token as an admin cookie opens nothing
        cookie = {"Cookie": f"{COOKIES[Kind.ADMIN]}={token}"}
        assert (await status_of(other, "GET", console.base + "/admin", headers=cookie))[0] == 303
    async with ClientSession() as nobody:
        assert (await status_of(nobody, "GET", console.base + "/mydata"))[0] == 303


# -- the console: this machine only ------------------------------------------------------------


async def test_the_console_refuses_requests_through_a_proxy_or_for_another_host(
    console: ConsoleClient,
) -> None:
    for headers in (*PROXIED[1:], {"Host": "evil.example:80"}, {"Via": "1.1 proxy"}):
        for method, path in (
            ("GET", "/"),
            ("GET", "/api/console/workspace"),
            ("GET", "/api/console/channels/dm:admin/messages?user=admin"),
        ):
            status, text, _ = await status_of(
                console.session, method, console.base + path, headers=headers
            )
            assert status == 403 and "only on this machine" in text, (path, headers)
        status, _, _ = await status_of(
            console.session,
            "POST",
            console.base + "/api/console/messages",
            json={"user": "admin", "channel": "team", "text": "/skill admin observe #team"},
            headers=headers,
        )
        assert status == 403
    assert not await Channel.filter(observed=True).exists()
    assert (await status_of(console.session, "GET", console.base + "/"))[0] == 200


def test_local_only_needs_a_loopback_listener_peer_and_host() -> None:
    def request(remote: str, host: str = "127.0.0.1:8765", **headers: str) -> Any:
        transport = mock.Mock()
        transport.get_extra_info.return_value = (remote, 40000)
        return make_mocked_request(
            "GET", "/", headers={"Host": host, **headers}, transport=transport
        )

    assert why_not_local(request("127.0.0.1"), "127.0.0.1") is None
    assert why_not_local(request("::1", "[::1]:8765"), "::1") is None
    assert why_not_local(request("127.0.0.1", "localhost:8765"), "localhost") is None
    assert why_not_local(request("10.1.2.3"), "127.0.0.1") == "it came from another machine"
    assert why_not_local(request("127.0.0.1"), "0.0.0.0") is not None
    assert why_not_local(request("127.0.0.1", "rebind.example:8765"), "127.0.0.1") is not None
    assert why_not_local(request("127.0.0.1", **{"X-Forwarded-For": "1.2.3.4"}), "127.0.0.1")


# -- on the server ------------------------------------------------------------------------------


def _cli(data_dir: Path, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "APPRENTICE_DATA_DIR": str(data_dir),
        "APPRENTICE_ADMINS": "console:admin",
        "APPRENTICE_WEB_PORT": str(port),
    }
    return subprocess.run(
        [str(Path(sys.executable).with_name("apprentice")), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


async def test_admin_link_on_the_server_prints_a_link_that_signs_in(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    application = Application(settings)
    await application.start()
    try:
        async with ClientSession() as session:  # the bot hears from the console workspace
            await ConsoleClient(session, f"http://127.0.0.1:{settings.web_port}").say(
                "admin", "dm:admin", "/skill help"
            )
    finally:
        await application.stop()

    refused = _cli(tmp_path / "data", settings.web_port, "admin-link", "--as", "console:local:bob")
    assert refused.returncode == 1 and "not an admin" in refused.stdout
    malformed = _cli(tmp_path / "data", settings.web_port, "admin-link", "--as", "admin")
    assert malformed.returncode == 1 and "PLATFORM:WORKSPACE:USER" in malformed.stdout
    printed = _cli(
        tmp_path / "data", settings.web_port, "admin-link", "--as", "console:local:admin"
    )
    assert printed.returncode == 0, printed.stdout + printed.stderr
    link = next(w for w in printed.stdout.split() if "/admin/signin/" in w)

    application = Application(settings)
    await application.start()
    try:
        async with browser_session() as browser:
            assert (await redeem(browser, link))[0] == 303
            status, text, _ = await status_of(browser, "GET", link.split("/admin/")[0] + "/admin")
            assert status == 200 and "signed in as <strong>admin</strong>" in text
    finally:
        await application.stop()


async def test_an_expired_session_is_refused_and_removed(
    app: Application, console: ConsoleClient
) -> None:
    async with browser_session() as browser:
        await redeem(browser, await admin_link(console))
        assert (await status_of(browser, "GET", console.base + "/admin"))[0] == 200
        await WebSession.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        status, _, headers = await status_of(browser, "GET", console.base + "/admin")
        assert status == 303 and headers["Location"] == "/admin/signin"
    assert not await WebSession.exists()


async def test_every_post_form_on_every_page_carries_the_csrf_token(tmp_path: Path) -> None:
    application = Application(make_settings(tmp_path / "data", demo=True))
    await application.start()
    try:
        async with browser_session() as browser:
            console = ConsoleClient(browser, f"http://127.0.0.1:{application.settings.web_port}")
            await console.say("admin", "dm:admin", "/skill learn code-review #team")
            await redeem(browser, await admin_link(console))
            forms = 0
            for path in (
                "/admin",
                "/admin/people",
                "/admin/people/erase?user=bob",
                "/admin/skills/code-review?v=1",
                "/admin/skills/code-review?v=2",
                "/admin/audit",
            ):
                _, page, _ = await status_of(browser, "GET", console.base + path)
                for form in page.split('<form method="post"')[1:]:
                    forms += 1
                    assert 'name="csrf" value="' in form.split("</form>")[0], path
            assert forms >= 6  # observe, stop, erase, publish, sign out on each page…
            await redeem(browser, await mydata_link(console, "bob"))
            for path in ("/mydata", "/mydata/withdraw", "/mydata/erase"):
                _, page, _ = await status_of(browser, "GET", console.base + path)
                for form in page.split('<form method="post"')[1:]:
                    assert 'name="csrf" value="' in form.split("</form>")[0], path
    finally:
        await application.stop()
