"""The admin pages (/admin) against the real app: content, tenant scoping, and acting."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from bot.app import Application
from bot.consent.ledger import Mechanism
from bot.consent.notices import Purpose, notice
from bot.storage.models import Channel, ConsentEvent, Observation, Person, SkillVersion
from tests.conftest import ConsoleClient, make_settings
from tests.web_helpers import admin_link, browser_session, csrf_of, form_fields, redeem

ALICE_WORDS = "Shipped the zebra-crossing migration for Falkenstein"
CAROL_WORDS = "carol-secret: the espresso machine is haunted"
POSTED_WORDS = ("Shipped", "zebra-crossing", "Falkenstein", "carol-secret", "espresso", "haunted")
PAGES = (
    "/admin",
    "/admin/people",
    "/admin/consent",
    "/admin/activity",
    "/admin/skills",
    "/admin/audit",
)


def base_of(app: Application) -> str:
    return f"http://127.0.0.1:{app.settings.web_port}"


async def fetch(session: ClientSession, url: str, **kwargs: Any) -> tuple[int, str, dict[str, str]]:
    async with session.get(url, allow_redirects=False, **kwargs) as r:
        return r.status, await r.text(), dict(r.headers)


async def post(
    session: ClientSession, url: str, data: dict[str, str], **kwargs: Any
) -> tuple[int, str, dict[str, str]]:
    async with session.post(url, data=data, allow_redirects=False, **kwargs) as r:
        return r.status, await r.text(), dict(r.headers)


async def walk_through(console: ConsoleClient) -> None:
    await console.say("admin", "team", "/skill admin observe #team")
    await console.opt_in("alice")
    await console.say("alice", "team", ALICE_WORDS)
    await console.say("carol", "team", CAROL_WORDS)


@pytest.fixture
async def admin(console: ConsoleClient) -> AsyncIterator[ClientSession]:
    """A browser signed in as the console workspace's admin."""
    async with browser_session() as session:
        status, _, _ = await redeem(session, await admin_link(console))
        assert status == 303
        yield session


async def page_text(session: ClientSession, console: ConsoleClient, path: str) -> str:
    status, text, _ = await fetch(session, console.base + path)
    assert status == 200, (path, status, text)
    return text


@pytest.fixture
async def started(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Application]:
    """An app with the settings a test names: @pytest.mark.parametrize('started', [{…}])."""
    application = Application(make_settings(tmp_path / "data", **request.param))
    await application.start()
    try:
        yield application
    finally:
        await application.stop()


# -- what the pages show ---------------------------------------------------------------------


async def test_pages_show_channel_grant_and_audit_but_no_message_text(
    app: Application, console: ConsoleClient, admin: ClientSession
) -> None:
    await walk_through(console)
    channel = await Channel.get(channel_id="team")
    grant = await ConsentEvent.get(user_id="alice", action="grant")

    overview = await page_text(admin, console, "/admin")
    assert "console:local" in overview
    assert ">team<" in overview and channel.notice_message_id in overview
    assert ">admin<" in overview  # approved by
    assert re.search(r'class="n">1</div><div class="what">people with consent', overview)
    assert re.search(r'class="n">1</div><div class="what">messages kept', overview)

    ledger = await page_text(admin, console, "/admin/consent")
    assert grant.notice_sha256 in ledger and grant.notice_version in ledger
    assert "button:consent.agree" in ledger and grant.mechanism_ref in ledger
    assert ">alice<" in ledger and "carol" not in ledger

    audit = await page_text(admin, console, "/admin/audit")
    assert "Audit chain intact" in audit
    assert "channel.observe" in audit and "consent.grant" in audit
    assert "alice" not in audit  # people appear by pseudonym only

    people = await page_text(admin, console, "/admin/people")
    assert ">alice<" in people and "#team: 1" in people and "carol" not in people

    for path in (*PAGES, "/admin/consent?user=alice", "/admin/audit?user=alice"):
        text = await page_text(admin, console, path)
        for word in POSTED_WORDS:
            assert word not in text, (path, word)


async def test_consent_ledger_filters_by_user_and_shows_withdrawals(
    app: Application, console: ConsoleClient, admin: ClientSession
) -> None:
    await walk_through(console)
    await console.opt_in("bob")
    await console.say("bob", "dm:bob", "/skill optout")

    bob = await page_text(admin, console, "/admin/consent?user=bob")
    assert 'badge withdraw">withdraw<' in bob and "command:optout" in bob
    assert ">alice<" not in bob
    everyone = await page_text(admin, console, "/admin/consent")
    assert ">alice<" in everyone and ">bob<" in everyone


async def test_the_activity_charts_count_messages_answers_and_runs(
    app: Application, console: ConsoleClient, admin: ClientSession
) -> None:
    await walk_through(console)
    await console.opt_in("bob")
    await console.say("bob", "team", "a second kept message")
    await console.say("bob", "dm:bob", "/skill optout")

    activity = await page_text(admin, console, "/admin/activity")
    assert activity.count("<svg") == 3
    assert "Messages kept per day, by channel: 2 in all" in activity
    assert "Consent answers per day: 3 in all" in activity  # two grants, one withdrawal
    assert re.search(r"<td>#team</td>", activity) or "#team" in activity
    for word in (*POSTED_WORDS, "second kept"):
        assert word not in activity


async def test_an_admin_signed_in_to_one_workspace_sees_nothing_of_another(
    app: Application, console: ConsoleClient, admin: ClientSession
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
        text = await page_text(admin, console, path)
        for secret in ("acquisitions", "C0SECRET", "U0MALLORY", "U0BOSS", "ev-other", "T0OTHER"):
            assert secret not in text, (path, secret)
        status, text, _ = await fetch(admin, console.base + path + "?ws=slack:T0OTHER")
        assert status == 403 and "acquisitions" not in text, path
        assert "admin of console:local only" in text


@pytest.mark.parametrize("started", [{"demo": True}], indirect=True)
async def test_a_withdrawn_contributors_rule_and_sources_leave_the_skill_page(
    started: Application,
) -> None:
    async with browser_session() as admin:
        console = ConsoleClient(admin, base_of(started))
        assert (await redeem(admin, await admin_link(console)))[0] == 303
        bobs = {
            str(i)
            for i in await Observation.filter(person__user_id="bob").values_list("id", flat=True)
        }
        before = await page_text(admin, console, "/admin/skills/code-review")
        assert "Decimal" in before and "bob (" in before and "print()" in before
        assert any(i in before for i in bobs)

        await console.say("bob", "team", "/skill optout")

        after = await page_text(admin, console, "/admin/skills/code-review")
        assert "Decimal" not in after and "bob" not in after
        assert "print()" in after  # dave's rule stays
        assert "1 who withdrew are hidden" in after
        assert not any(i in after for i in bobs)
        listing = await page_text(admin, console, "/admin/skills")
        assert "bob" not in listing and "code-review" in listing


# -- acting ------------------------------------------------------------------------------------


async def test_observing_from_the_page_posts_the_notice_as_the_command_does(
    app: Application, console: ConsoleClient, admin: ClientSession
) -> None:
    await console.say("alice", "random", "hello")  # the console knows #random
    overview = await page_text(admin, console, "/admin")
    status, _, headers = await post(
        admin,
        console.base + "/admin/channels/observe",
        {"csrf": csrf_of(overview), "channel": "#random"},
    )
    assert status == 303 and headers["Location"] == "/admin?done=observe"
    channel = await Channel.get(channel_id="random")
    assert channel.observed and channel.approved_by == "admin" and channel.notice_message_id
    async with console.session.get(console.base + "/api/console/channels/random/messages") as r:
        texts = [m["text"] for m in (await r.json())["messages"]]
    assert any("Apprentice now observes #random" in t for t in texts)
    status, _, headers = await post(
        admin,
        console.base + "/admin/channels/observe",
        {"csrf": csrf_of(overview), "channel": "#nowhere"},
    )
    assert headers["Location"] == "/admin?done=not-observed"
    assert "says why" in await page_text(admin, console, headers["Location"])
    audit = await page_text(admin, console, "/admin/audit")
    assert "channel.observe" in audit

    overview = await page_text(admin, console, "/admin")
    status, _, _ = await post(
        admin,
        console.base + "/admin/channels/unobserve",
        {"csrf": csrf_of(overview), "channel": "random"},
    )
    assert status == 303
    assert not (await Channel.get(channel_id="random")).observed


async def test_erasing_a_person_from_the_people_page_is_an_audited_admin_revocation(
    app: Application, console: ConsoleClient, admin: ClientSession
) -> None:
    await walk_through(console)
    confirm = await page_text(admin, console, "/admin/people/erase?user=alice")
    assert "Erase everything held about alice?" in confirm and "1 messages" in confirm
    assert await Person.exists(user_id="alice")  # opening the confirmation erased nothing

    status, _, headers = await post(
        admin,
        console.base + "/admin/people/erase",
        {"csrf": csrf_of(confirm), "user": "alice", "confirm": "erase"},
    )
    assert status == 303 and headers["Location"] == "/admin/people?done=erased"
    assert not await Person.exists(user_id="alice")
    assert await Observation.filter(tenant__external_id="local").count() == 0
    withdrawal = await ConsentEvent.get(user_id="alice", action="withdraw")
    assert withdrawal.by_admin == "admin" and withdrawal.mechanism == "admin:revoke"
    audit = await page_text(admin, console, "/admin/audit")
    assert "person.revoked_by_admin" in audit
    async with console.session.get(
        console.base + "/api/console/channels/dm:alice/messages?user=alice"
    ) as r:
        texts = [m["text"] for m in (await r.json())["messages"]]
    assert any("An admin of this workspace revoked" in t for t in texts)


async def test_an_erase_without_its_confirmation_erases_nothing(
    app: Application, console: ConsoleClient, admin: ClientSession
) -> None:
    await walk_through(console)
    people = await page_text(admin, console, "/admin/people")
    status, _, _ = await post(
        admin, console.base + "/admin/people/erase", {"csrf": csrf_of(people), "user": "alice"}
    )
    assert status == 400
    assert await Person.exists(user_id="alice")


@pytest.mark.parametrize("started", [{"demo": True}], indirect=True)
async def test_publish_and_rollback_from_the_skill_page(started: Application) -> None:
    async with browser_session() as admin:
        console = ConsoleClient(admin, base_of(started))
        await console.say("admin", "dm:admin", "/skill learn weekly-report #team")
        rows = await SkillVersion.filter(skill__name="weekly-report").order_by("number")
        assert [r.status for r in rows] == ["published", "draft"]
        assert (await redeem(admin, await admin_link(console)))[0] == 303
        base = console.base + "/admin/skills/weekly-report"
        page = await page_text(admin, console, "/admin/skills/weekly-report?v=2")
        assert "Changes from published v1" in page

        status, _, headers = await post(
            admin, base + "/publish", form_fields(page, "/admin/skills/weekly-report/publish")
        )
        assert status == 303 and "done=published" in headers["Location"]
        statuses = await SkillVersion.filter(skill__name="weekly-report").order_by("number")
        assert [r.status for r in statuses] == ["archived", "published"]

        page = await page_text(admin, console, "/admin/skills/weekly-report?v=1")
        status, _, _ = await post(
            admin, base + "/rollback", form_fields(page, "/admin/skills/weekly-report/rollback")
        )
        assert status == 303
        statuses = await SkillVersion.filter(skill__name="weekly-report").order_by("number")
        assert [r.status for r in statuses] == ["published", "archived"]
        audit = await page_text(admin, console, "/admin/audit")
        assert "skill.publish" in audit and "skill.rollback" in audit

        diff = await page_text(admin, console, "/admin/skills/weekly-report/diff?a=1&b=2")
        assert "v1 → v2" in diff
