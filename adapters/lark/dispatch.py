"""lark-oapi's event dispatcher wired to our pure normalizers (long connection and webhook alike).

Imports the SDK: load this module only when the Lark adapter starts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import lark_oapi as lark
import structlog
from lark_oapi.api.im.v1 import P2ImMessageRecalledV1, P2ImMessageReceiveV1
from lark_oapi.event.callback.model.p2_card_action_trigger import (
    P2CardActionTrigger,
    P2CardActionTriggerResponse,
)

from adapters.lark.normalize import card_action_event, message_event, recall_event
from bot.events import Event
from bot.logging import where

log = structlog.get_logger(__name__)

Sink = Callable[[Event], None]


def build_dispatcher(
    sink: Sink,
    bot_open_id: Callable[[], str | None],
    *,
    encrypt_key: str = "",
    verification_token: str = "",
) -> lark.EventDispatcherHandler:
    """SDK handlers are synchronous: each normalizes and hands the Event to `sink` at once."""

    def on_message(data: P2ImMessageReceiveV1) -> None:
        _hand_over(sink, lambda: message_event(_plain(data), bot_open_id()), "message")

    def on_recall(data: P2ImMessageRecalledV1) -> None:
        _hand_over(sink, lambda: recall_event(_plain(data)), "recall")

    def on_card_action(data: P2CardActionTrigger) -> P2CardActionTriggerResponse:
        _hand_over(sink, lambda: card_action_event(_plain(data)), "card_action")
        # The choice is recorded by the bot, which then updates the card through the API.
        return P2CardActionTriggerResponse({})

    return (
        lark.EventDispatcherHandler.builder(encrypt_key, verification_token)
        .register_p2_im_message_receive_v1(on_message)
        .register_p2_im_message_recalled_v1(on_recall)
        .register_p2_card_action_trigger(on_card_action)
        .build()
    )


def _hand_over(sink: Sink, make: Callable[[], Event | None], kind: str) -> None:
    try:
        event = make()
        if event is not None:
            sink(event)
    except Exception as exc:  # never let an error (or its text) reach the SDK's own logs
        log.error("lark.event_failed", kind=kind, error=type(exc).__name__, where=where(exc))


def _plain(data: Any) -> dict[str, Any]:
    """The SDK's typed event back to the documented JSON shape the normalizers read."""
    return json.loads(lark.JSON.marshal(data) or "{}")
