"""Only the ConsentGate can make an ObservedMessage, and only the store accepts one."""

from __future__ import annotations

import pytest

from bot.consent.gate import ObservedMessage
from bot.observations import ObservationStore
from bot.storage.vault import Vault


def test_observed_message_cannot_be_constructed_outside_the_gate() -> None:
    with pytest.raises(TypeError, match="only by the ConsentGate"):
        ObservedMessage()


def test_observed_message_cannot_be_subclassed_into_existence() -> None:
    class Sneaky(ObservedMessage):
        __slots__ = ()

    with pytest.raises(TypeError):
        Sneaky()


async def test_store_refuses_anything_but_an_observed_message() -> None:
    store = ObservationStore(Vault(b"k" * 32))
    with pytest.raises(TypeError, match="ConsentGate"):
        await store.store("plain text")  # type: ignore[arg-type]
