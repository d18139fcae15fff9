"""/healthz, /readyz and /metrics: probes that say what failed, metrics that hold only counts."""

from __future__ import annotations

from aiohttp import ClientSession

from bot.app import Application
from tests.conftest import ConsoleClient


def base(app: Application) -> str:
    return f"http://{app.settings.web_host}:{app.settings.web_port}"


async def test_healthz_and_readyz_answer_when_the_bot_is_up(app: Application) -> None:
    async with ClientSession() as session:
        async with session.get(f"{base(app)}/healthz") as r:
            assert r.status == 200 and (await r.json())["status"] == "ok"
        async with session.get(f"{base(app)}/readyz") as r:
            assert r.status == 200 and (await r.json())["status"] == "ready"


async def test_readyz_names_the_bus_when_it_is_not_running(app: Application) -> None:
    assert app.bus is not None
    await app.bus.stop()
    async with ClientSession() as session, session.get(f"{base(app)}/readyz") as r:
        body = await r.json()
    assert r.status == 503 and body["failed"] == ["bus: not running"]
    await app.bus.start()  # so the fixture stops it cleanly


async def test_metrics_count_events_and_drops_without_content_or_people(
    app: Application, console: ConsoleClient
) -> None:
    await console.say("admin", "team", "/skill admin observe #team")
    await console.opt_in("alice")
    await console.say("alice", "team", "alice-private-words about the invoice")
    await console.say("carol", "team", "carol-private-words about the budget")
    async with ClientSession() as session, session.get(f"{base(app)}/metrics") as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
        text = await r.text()
    assert 'apprentice_events_in_total{platform="console"}' in text
    assert 'apprentice_events_out_total{platform="console",result="stored"} 1.0' in text
    assert 'apprentice_dropped_by_consent_total{reason="author_has_no_grant"} 1.0' in text
    assert "apprentice_bus_queue_depth 0.0" in text
    assert "apprentice_handler_seconds_count" in text
    for secret in ("alice", "carol", "private-words", "invoice", "budget"):
        assert secret not in text
