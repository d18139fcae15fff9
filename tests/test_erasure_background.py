"""Erasure: the key goes first (unreadable at once), the rows follow in bounded batches in the
background, and an erasure a stopped process left unfinished is finished at the next start."""

from __future__ import annotations

import uuid

import pytest

from adapters.console.normalize import PostedMessage, message_event
from bot.app import Application
from bot.consent.erasure import ERASED_PREFIX, Eraser, erase_person
from bot.consent.ledger import Mechanism
from bot.people import key_ref
from bot.settings import Settings
from bot.storage.models import Observation, Person
from bot.storage.vault import VaultError
from tests.test_batched_ingest import observe_and_opt_in


async def store_some(app: Application, user: str, count: int) -> None:
    assert app.bus is not None
    for n in range(count):
        posted = PostedMessage(user, "team", f"note {n}")
        event = message_event(posted, uuid.uuid4().hex, f"{user}-{n}")
        assert await (await app.bus.publish(event)) == "stored"


async def forget(app: Application, user: str):  # noqa: ANN201 - a Receipt
    assert app.services is not None
    tenant = await app.services.directory.tenant("console", "local")
    return await erase_person(
        tenant,
        user,
        ledger=app.services.ledger,
        observations=app.services.observations,
        mechanism=Mechanism("command:forget", "e-1"),
    )


async def test_the_key_is_destroyed_before_the_rows_are_deleted(app: Application) -> None:
    await observe_and_opt_in(app, ["alice"])
    await store_some(app, "alice", 5)
    person = await Person.get(user_id="alice")
    assert app.eraser is not None
    await app.eraser.stop()  # hold the background part back, to look in between
    receipt = await forget(app, "alice")
    assert receipt.key_destroyed and receipt.observations_deleted == 5
    erased = await Person.get(id=person.id)
    assert erased.wrapped_key == b"" and erased.user_id == f"{ERASED_PREFIX}{person.id}"
    assert app.services is not None
    with pytest.raises((VaultError, ValueError)):  # what is left cannot be read by anyone
        app.services.vault.unwrap(erased.wrapped_key, key_ref(erased.tenant_id, erased.id))
    assert await Observation.filter(person_id=person.id).count() == 5
    assert not await Person.exists(user_id="alice")  # they may opt in afresh meanwhile


async def test_the_rows_are_deleted_in_bounded_batches(app: Application) -> None:
    await observe_and_opt_in(app, ["alice", "bob"])
    await store_some(app, "alice", 7)
    await store_some(app, "bob", 2)
    person = await Person.get(user_id="alice")
    assert app.services is not None
    assert await app.services.observations.delete_some_of(person.id, limit=3) == 3
    assert await Observation.filter(person_id=person.id).count() == 4
    assert app.eraser is not None
    await app.eraser.stop()
    await forget(app, "alice")
    eraser = Eraser(app.services.observations, batch=3)
    assert await eraser.finish_all() == 4
    assert not await Person.exists(id=person.id)
    assert await Observation.all().count() == 2  # bob's stay


async def test_an_unfinished_erasure_is_finished_at_the_next_start(settings: Settings) -> None:
    first = Application(settings)
    await first.start(serve_web=False)
    try:
        await observe_and_opt_in(first, ["alice"])
        await store_some(first, "alice", 4)
        assert first.eraser is not None
        await first.eraser.stop()  # the process stops before the background part ran
        await forget(first, "alice")
    finally:
        await first.stop()
    second = Application(settings)
    await second.start(serve_web=False)
    try:
        assert second.eraser is not None
        await second.eraser.idle()
        assert await Observation.all().count() == 0
        assert not await Person.filter(user_id__startswith=ERASED_PREFIX).exists()
    finally:
        await second.stop()
