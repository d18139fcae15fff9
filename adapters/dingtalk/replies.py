"""Typed replies that stand for button clicks: `/skill optin yes|no`, `/skill choose 2`.

An ActionCard's buttons can only send text as the person (a `dtmd://…/sendMessage` link),
and some DingTalk clients show no buttons at all, so every button has a typed form too.
Consent answers (`/skill optin yes|no`) are the core's own commands, on every platform:
the ledger remembers which notice each person was shown. For other buttons the adapter
remembers the ones it last sent each person; `/skill choose N` becomes the ACTION event a
click on button N would have made, with the button's own value.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from dataclasses import dataclass

from bot.commands.consent import AGREE, DECLINE
from bot.events import Action, Event, EventKind
from bot.outbound import Button

CHOOSE = "choose"
EXPIRED_BUTTON = "dingtalk.expired_button"  # no handler: the pipeline says so politely
REMEMBERED_PEOPLE = 10_000


def typed_reply(button: Button, position: int) -> str:
    """What a person types (or an ActionCard button sends) to press this button."""
    if button.action_id == AGREE:
        return "/skill optin yes"
    if button.action_id == DECLINE:
        return "/skill optin no"
    return f"/skill {CHOOSE} {position}"


@dataclass(frozen=True, slots=True)
class _Sent:
    buttons: tuple[Button, ...]
    message_ref: str | None


class PendingButtons:
    """The buttons last sent to each person (bounded, in memory), for `/skill choose N`."""

    def __init__(self, capacity: int = REMEMBERED_PEOPLE) -> None:
        self._sent: OrderedDict[tuple[str, str], _Sent] = OrderedDict()
        self._capacity = capacity

    def remember(
        self, tenant: str, user_id: str, buttons: tuple[Button, ...], message_ref: str | None
    ) -> None:
        key = (tenant, user_id)
        self._sent.pop(key, None)
        self._sent[key] = _Sent(buttons, message_ref)
        while len(self._sent) > self._capacity:
            self._sent.popitem(last=False)

    def resolve(self, event: Event) -> Event:
        """Turn a typed reply into the click it stands for; any other event is returned as is."""
        command = event.command
        if event.kind is not EventKind.COMMAND or command is None or len(command.args) != 1:
            return event
        word = command.args[0].lower()
        if command.name == CHOOSE and word.isdigit():
            sent = self._sent.get((event.tenant, event.actor.id))
            position = int(word)
            if sent is None or not 1 <= position <= len(sent.buttons):
                return _click(event, Button("", EXPIRED_BUTTON), None)
            self._sent.pop((event.tenant, event.actor.id))
            return _click(event, sent.buttons[position - 1], sent.message_ref)
        return event


def _click(event: Event, button: Button, message_ref: str | None) -> Event:
    return dataclasses.replace(
        event,
        kind=EventKind.ACTION,
        text="",
        command=None,
        action=Action(id=button.action_id, value=button.value, message_ref=message_ref, via="text"),
    )
