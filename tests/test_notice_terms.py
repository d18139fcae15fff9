"""A grant holds for the words shown: other retention, another provider or new words ask again."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import ClientSession

from bot.app import Application
from bot.consent.notices import Purpose, Terms, current_version, notice_with
from bot.storage.models import ConsentEvent, Tenant
from tests.conftest import ConsoleClient, make_settings


@asynccontextmanager
async def running(
    data_dir: Path, **settings: Any
) -> AsyncIterator[tuple[Application, ConsoleClient]]:
    app = Application(make_settings(data_dir, **settings))
    await app.start()
    try:
        async with ClientSession() as session:
            base = f"http://{app.settings.web_host}:{app.settings.web_port}"
            yield app, ConsoleClient(session, base)
    finally:
        await app.stop()


async def live(app: Application, user: str, purpose: Purpose = Purpose.OBSERVE) -> bool:
    assert app.services is not None
    tenant = await Tenant.get(platform="console", external_id="local")
    return await app.services.ledger.live_grant(tenant, user, purpose) is not None


async def notice_dm(console: ConsoleClient, user: str, words: str = "") -> dict[str, Any]:
    replies = await console.say(user, f"dm:{user}", f"/skill optin {words}".strip())
    return next(r for r in replies if r["buttons"])


def agree_button(dm: dict[str, Any]) -> dict[str, Any]:
    return next(b for b in dm["buttons"] if b["label"] == "Agree")


async def test_the_grant_records_the_hash_of_the_text_the_button_came_with(tmp_path: Path) -> None:
    async with running(tmp_path / "d") as (app, console):
        dm = await notice_dm(console, "alice")
        await console.click("alice", agree_button(dm))
        grant = await ConsentEvent.get(user_id="alice", action="grant")
    assert grant.notice_sha256 == hashlib.sha256(dm["text"].encode()).hexdigest()


async def test_raising_the_retention_ends_every_grant_and_asks_again(tmp_path: Path) -> None:
    async with running(tmp_path / "d", retention_days=90) as (app, console):
        await console.say("admin", "team", "/skill admin observe #team")
        await console.opt_in("alice")
        assert await live(app, "alice")
    async with running(tmp_path / "d", retention_days=3650) as (app, console):
        assert not await live(app, "alice")
        replies = await console.say("alice", "team", "status: the importer shipped")
        asked = [r for r in replies if r["channel"] == "dm:alice" and r["buttons"]]
        assert asked and "3650 days" in asked[0]["text"]
        await console.click("alice", agree_button(asked[0]))
        assert await live(app, "alice")


async def test_another_model_provider_ends_the_model_grant(tmp_path: Path) -> None:
    first = {"openai_api_key": "sk-test", "openai_base_url": "https://api.deepseek.com"}
    async with running(tmp_path / "d", **first) as (app, console):
        await console.opt_in("alice")
        await console.click("alice", agree_button(await notice_dm(console, "alice", "model")))
        assert await live(app, "alice", Purpose.MODEL)
    other = dict(first, openai_base_url="https://dashscope.aliyuncs.com/compatible-mode/v1")
    async with running(tmp_path / "d", **other) as (app, _):
        assert not await live(app, "alice", Purpose.MODEL)
        assert await live(app, "alice")  # the observe notice names no provider


async def test_a_button_from_before_a_change_of_terms_shows_the_new_notice(
    tmp_path: Path,
) -> None:
    async with running(tmp_path / "d", retention_days=90) as (_, console):
        old_dm = await notice_dm(console, "alice")
    async with running(tmp_path / "d", retention_days=3650) as (app, console):
        replies = await console.click("alice", agree_button(old_dm))
        assert not await live(app, "alice")
        assert await ConsentEvent.filter(user_id="alice", action="grant").count() == 0
        assert any("3650 days" in r["text"] for r in replies)


async def test_unchanged_terms_keep_grants_across_restarts(tmp_path: Path) -> None:
    async with running(tmp_path / "d") as (app, console):
        await console.opt_in("alice")
    async with running(tmp_path / "d") as (app, _):
        assert await live(app, "alice")


async def test_a_grant_from_before_digested_versions_holds_while_its_text_is_shown(
    tmp_path: Path,
) -> None:
    async with running(tmp_path / "d", retention_days=90) as (app, console):
        await console.opt_in("alice")
        grant = await ConsentEvent.get(user_id="alice", action="grant")
        grant.notice_version = current_version(Purpose.OBSERVE)  # as older releases stored it
        await grant.save()
        assert await live(app, "alice")
    async with running(tmp_path / "d", retention_days=30) as (app, _):
        assert not await live(app, "alice")


def test_any_change_of_the_rendered_text_is_a_new_version() -> None:
    observe = {notice_with(Purpose.OBSERVE, "en", Terms(days)).version for days in (90, 91)}
    model = {
        notice_with(Purpose.MODEL, "en", Terms(90, provider)).version
        for provider in ("OpenAI", "https://x.example")
    }
    assert len(observe) == len(model) == 2
    # The model notice says nothing of retention: the same words, the same version.
    assert notice_with(Purpose.MODEL, "en", Terms(90, "OpenAI")).version == (
        notice_with(Purpose.MODEL, "en", Terms(3650, "OpenAI")).version
    )
    # One version for every language of the same terms.
    assert notice_with(Purpose.OBSERVE, "en", Terms(90)).version == (
        notice_with(Purpose.OBSERVE, "zh", Terms(90)).version
    )
