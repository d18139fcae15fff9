"""The batched hot path keeps the consent invariants: a withdrawal stops what is queued behind
it under load, a change made by another process is seen before the next batch, a retried
batch stores nothing twice."""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import replace
from pathlib import Path

from adapters.console.normalize import Click, PostedMessage, message_event
from bot.app import Application
from bot.consent.ledger import ConsentLedger, Mechanism
from bot.consent.notices import Purpose, Terms
from bot.directory import Directory
from bot.events import Event
from bot.storage.models import Observation, Person
from tests.conftest import make_settings
from tests.test_migrations import postgres_database  # noqa: F401 - a fixture

PEOPLE = [f"user{i}" for i in range(12)]


def said(user: str, text: str, message_id: str | None = None) -> Event:
    channel = f"dm:{user}" if text.startswith("/skill opt") else "team"
    return message_event(
        PostedMessage(user, channel, text), uuid.uuid4().hex, message_id or uuid.uuid4().hex
    )


async def observe_and_opt_in(app: Application, people: list[str]) -> None:
    assert app.console is not None
    await app.console.post(PostedMessage("admin", "team", "/skill admin observe #team"))
    for user in people:
        replies = await app.console.post(PostedMessage(user, f"dm:{user}", "/skill optin"))
        agree = next(b for r in replies for b in r.buttons if b["label"] == "Agree")
        await app.console.click(Click(user, agree["action_id"], agree["value"]))


async def stored_ids(user: str) -> set[str]:
    rows = await Observation.filter(person__user_id=user).values_list("message_id", flat=True)
    return {str(r) for r in rows}


async def test_a_withdrawal_stops_what_is_queued_behind_it_under_load(app: Application) -> None:
    await observe_and_opt_in(app, PEOPLE)
    assert app.bus is not None
    rng = random.Random(5)
    streams: dict[str, list[Event]] = {}
    before: dict[str, set[str]] = {}
    quitters = PEOPLE[:4]  # they opt out in the middle of their stream
    for user in PEOPLE:
        events = [said(user, f"status {n} from {user}", f"{user}-{n}") for n in range(300)]
        if user in quitters:
            cut = rng.randrange(50, 250)
            before[user] = {e.message_id or "" for e in events[:cut]}
            events.insert(cut, said(user, "/skill optout"))
        streams[user] = events
    # Interleave everyone's streams (each keeps its own order) and publish them all at once,
    # so the queues are full and batches are big while the withdrawals are handled.
    order = [u for u in PEOPLE for _ in streams[u]]
    rng.shuffle(order)
    cursors = dict.fromkeys(PEOPLE, 0)
    deliveries = []
    for user in order:
        deliveries.append(await app.bus.publish(streams[user][cursors[user]]))
        cursors[user] += 1
    outcomes = await asyncio.gather(*deliveries)
    assert "failed" not in outcomes
    for user in quitters:
        assert await stored_ids(user) == before[user]
    for user in PEOPLE[4:]:
        assert len(await stored_ids(user)) == 300
    assert app.services is not None
    samples = {
        s.name: s.value for s in app.services.metrics.ingest_batch_messages.collect()[0].samples
    }
    # More messages than batches: they were gated and stored together, not one by one.
    assert (
        samples["apprentice_ingest_batch_messages_sum"]
        > samples["apprentice_ingest_batch_messages_count"]
    )


async def test_a_withdrawal_written_by_another_process_is_seen_before_the_next_batch(
    app: Application,
) -> None:
    await observe_and_opt_in(app, ["alice"])
    assert app.bus is not None and app.services is not None
    assert await (await app.bus.publish(said("alice", "kept", "m1"))) == "stored"
    # Another worker process has its own ledger: only the database tells this one.
    other = ConsentLedger(Terms.of(app.settings))
    tenant = await Directory().tenant("console", "local")
    await other.withdraw(tenant, "alice", Purpose.OBSERVE, Mechanism("command:optout", "e-x"))
    assert await (await app.bus.publish(said("alice", "not kept", "m2"))) == ("author_has_no_grant")
    assert await stored_ids("alice") == {"m1"}


async def test_a_channel_unobserved_by_another_process_is_seen_before_the_next_batch(
    app: Application,
) -> None:
    await observe_and_opt_in(app, ["alice"])
    assert app.bus is not None
    tenant = await Directory().tenant("console", "local")
    await Directory().unobserve(tenant, "team")  # a directory of another process
    assert await (await app.bus.publish(said("alice", "not kept", "m1"))) == (
        "channel_not_observed"
    )
    assert await Observation.all().count() == 0


async def test_a_retried_batch_stores_each_message_once(app: Application) -> None:
    await observe_and_opt_in(app, ["alice", "bob"])
    assert app.bus is not None
    first = [said(u, f"note {n}", f"{u}-{n}") for u in ("alice", "bob") for n in range(50)]
    assert set(await asyncio.gather(*[await app.bus.publish(e) for e in first])) == {"stored"}
    # The same messages again under new event ids (a redelivery the bus cannot dedupe).
    again = [said(u, f"note {n}", f"{u}-{n}") for u in ("alice", "bob") for n in range(50)]
    outcomes = await asyncio.gather(*[await app.bus.publish(e) for e in again])
    assert set(outcomes) == {"already_stored"}
    assert await Observation.all().count() == 100


async def test_an_edit_in_the_same_batch_keeps_the_new_text(app: Application) -> None:
    await observe_and_opt_in(app, ["alice"])
    assert app.bus is not None and app.services is not None
    original = said("alice", "first wording", "m1")
    edit = replace(said("alice", "second wording", "m1"), edited=True)
    await asyncio.gather(*[await app.bus.publish(e) for e in (original, edit)])
    person = await Person.get(user_id="alice")
    texts = [o.text for o in await app.services.observations.read(person)]
    assert texts == ["second wording"]


async def test_batches_on_postgresql_store_once_and_say_so(
    tmp_path: Path,
    postgres_database: str,  # noqa: F811 - the fixture imported above
) -> None:
    app = Application(make_settings(tmp_path / "data", database_url=postgres_database))
    await app.start(serve_web=False)
    try:
        await observe_and_opt_in(app, ["alice", "bob"])
        assert app.bus is not None
        events = [said(u, f"note {n}", f"{u}-{n}") for u in ("alice", "bob") for n in range(40)]
        outcomes = await asyncio.gather(*[await app.bus.publish(e) for e in events])
        assert set(outcomes) == {"stored"}
        again = [said(u, f"note {n}", f"{u}-{n}") for u in ("alice", "bob") for n in range(40)]
        outcomes = await asyncio.gather(*[await app.bus.publish(e) for e in again])
        assert set(outcomes) == {"already_stored"}
        assert await Observation.all().count() == 80
    finally:
        await app.stop()


async def test_one_message_that_cannot_be_stored_does_not_sink_its_batch(
    app: Application,
) -> None:
    await observe_and_opt_in(app, ["alice"])
    assert app.bus is not None
    events = [said("alice", f"note {n}", f"m{n}") for n in range(20)]
    events[7] = said("alice", "a lone surrogate \ud800 cannot be encoded", "m7")
    outcomes = [await d for d in [await app.bus.publish(e) for e in events]]
    assert outcomes[7] == "failed"
    assert outcomes[:7] + outcomes[8:] == ["stored"] * 19
    assert await stored_ids("alice") == {f"m{n}" for n in range(20) if n != 7}
