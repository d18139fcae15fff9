"""The in-process bus: dedupe, per-person order, timeouts, isolation, backpressure."""

from __future__ import annotations

import asyncio
import uuid

from adapters.console.normalize import PostedMessage, message_event
from bot.app import Application
from bot.bus import InProcessBus
from bot.context import Args, Context
from bot.router import Router


def command(user: str, text: str, event_id: str | None = None):
    return message_event(
        PostedMessage(user, f"dm:{user}", text), event_id or uuid.uuid4().hex, uuid.uuid4().hex
    )


def router_with(calls: list[str]) -> Router:
    router = Router()

    @router.command("slow", summary="sleeps")
    async def slow(ctx: Context, args: Args) -> None:
        await asyncio.sleep(5)

    @router.command("boom", summary="fails")
    async def boom(ctx: Context, args: Args) -> None:
        raise RuntimeError("secret words must not reach the log")

    @router.command("note", summary="records")
    async def note(ctx: Context, args: Args) -> None:
        await asyncio.sleep(0.001 * (5 - int(args.words[0]) % 5))
        calls.append(args.words[0])

    return router


async def make_bus(app: Application, calls: list[str], **options: object) -> InProcessBus:
    assert app.services is not None
    bus = InProcessBus(app.services, router_with(calls), **options)  # type: ignore[arg-type]
    await bus.start()
    return bus


async def test_same_event_id_is_processed_once(app: Application) -> None:
    calls: list[str] = []
    bus = await make_bus(app, calls)
    event = command("alice", "/skill note 1")
    outcomes = [await (await bus.publish(event)) for _ in range(3)]
    await bus.stop()
    assert calls == ["1"] and outcomes == ["handled", "duplicate_event", "duplicate_event"]


async def test_one_persons_events_are_handled_in_order(app: Application) -> None:
    calls: list[str] = []
    bus = await make_bus(app, calls, workers=4)
    deliveries = [await bus.publish(command("alice", f"/skill note {i}")) for i in range(20)]
    await asyncio.gather(*deliveries)
    await bus.stop()
    assert calls == [str(i) for i in range(20)]


async def test_slow_handler_is_stopped_and_the_person_told(app: Application) -> None:
    calls: list[str] = []
    bus = await make_bus(app, calls, handler_timeout=0.05)
    assert app.console is not None
    app.console._captured["probe"] = []  # capture what the console receives for this event
    await (await bus.publish(command("alice", "/skill slow", "probe")))
    await (await bus.publish(command("alice", "/skill note 3")))
    await bus.stop()
    assert "took too long" in app.console._captured["probe"][0].text
    assert calls == ["3"]


async def test_failing_handler_does_not_stop_the_bus(app: Application, capsys) -> None:  # noqa: ANN001
    calls: list[str] = []
    bus = await make_bus(app, calls)
    await (await bus.publish(command("alice", "/skill boom")))
    await (await bus.publish(command("alice", "/skill note 2")))
    await bus.stop()
    assert calls == ["2"]
    logged = capsys.readouterr()
    assert "RuntimeError" in logged.out + logged.err
    assert "secret words" not in logged.out + logged.err


async def test_full_queue_makes_publishers_wait(app: Application) -> None:
    calls: list[str] = []
    assert app.services is not None
    bus = InProcessBus(app.services, router_with(calls), queue_size=2, workers=1)
    await bus.publish(command("alice", "/skill note 1"))
    await bus.publish(command("alice", "/skill note 2"))
    third = asyncio.create_task(bus.publish(command("alice", "/skill note 3")))
    for _ in range(20):  # let the task run as far as it can: no worker takes anything yet
        await asyncio.sleep(0)
    assert not third.done()  # bounded: the third waits until a worker takes one
    await bus.start()
    await (await third)
    await bus.stop()
    assert calls == ["1", "2", "3"]
