"""Invariant 1 as a property: whatever people do, the database holds no text of anyone
without a live grant, and holds exactly the messages the consent rules allow."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.console.normalize import Click, PostedMessage, message_event
from bot.app import Application
from bot.storage.models import Person
from tests.conftest import make_settings

PEOPLE = ("alice", "bob", "carol")
PLACES = ("team", "random", "dm")  # team is observed, random is not, dm is private


@dataclass(frozen=True)
class Say:
    who: str
    where: str
    duplicate: bool


@dataclass(frozen=True)
class Consent:
    who: str
    what: str  # agree | decline | optout | forget


operations = st.lists(
    st.one_of(
        st.builds(Say, st.sampled_from(PEOPLE), st.sampled_from(PLACES), st.booleans()),
        st.builds(
            Consent,
            st.sampled_from(PEOPLE),
            st.sampled_from(("agree", "decline", "optout", "forget")),
        ),
    ),
    min_size=1,
    max_size=25,
)


def token(index: int) -> str:
    return f"qzv{index:03d}w{uuid.uuid4().hex[:6]}"


async def run_scenario(ops: list[Say | Consent], data_dir: Path) -> None:
    app = Application(make_settings(data_dir))
    await app.start(serve_web=False)
    console = app.console
    assert console is not None and app.bus is not None
    try:
        await console.post(PostedMessage("admin", "team", "/skill admin observe #team"))
        consenting: set[str] = set()
        expected: dict[str, set[str]] = {p: set() for p in PEOPLE}
        every_token: list[str] = []
        for index, op in enumerate(ops):
            if isinstance(op, Consent):
                if op.what in ("agree", "decline"):
                    replies = await console.post(
                        PostedMessage(op.who, f"dm:{op.who}", "/skill optin")
                    )
                    buttons = [b for r in replies for b in r.buttons]
                    if not buttons:  # already agreed: optin says so and offers no card
                        continue
                    label = "Agree" if op.what == "agree" else "No thanks"
                    button = next(b for b in buttons if b["label"] == label)
                    await console.click(Click(op.who, button["action_id"], button["value"]))
                    if op.what == "agree":
                        consenting.add(op.who)
                    else:
                        consenting.discard(op.who)
                else:
                    await console.post(PostedMessage(op.who, f"dm:{op.who}", f"/skill {op.what}"))
                    consenting.discard(op.who)
                    if op.what == "forget":
                        expected[op.who].clear()
                continue
            words = token(index)
            every_token.append(words)
            channel = f"dm:{op.who}" if op.where == "dm" else op.where
            event = message_event(
                PostedMessage(op.who, channel, f"note {words} done"), uuid.uuid4().hex, f"m-{index}"
            )
            await (await app.bus.publish(event))
            if op.duplicate:
                await (await app.bus.publish(event))
            if op.who in consenting and op.where == "team":
                expected[op.who].add(words)

        stored = b"".join(p.read_bytes() for p in data_dir.glob("apprentice.db*"))
        for words in every_token:
            assert words.encode() not in stored, "plaintext reached the database"
        assert app.services is not None
        for who in PEOPLE:
            person = await Person.get_or_none(user_id=who)
            kept = await app.services.observations.read(person) if person else []
            assert {o.text.split()[1] for o in kept} == expected[who]
    finally:
        await app.stop()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ops=operations)
def test_only_live_grants_in_observed_channels_are_ever_stored(ops: list[Say | Consent]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run_scenario(ops, Path(tmp) / "data"))
