"""Web buttons that do what a chat command does: the command runs through the bus as if the
signed-in person had typed it in a DM with the bot, so the web can do nothing chat cannot
(the same admin check, the same notice posted in the channel, the same audit entries and
DMs), and there is one copy of each action's code."""

from __future__ import annotations

import uuid

from bot.events import Actor, Conversation, ConversationKind, Event, EventKind, command_from_args
from bot.services import Publish
from bot.storage.models import Tenant


async def run_as_typed(publish: Publish, tenant: Tenant, user_id: str, words: str) -> str:
    """Run `/skill WORDS` as `user_id` in their DM with the bot; returns the bus's outcome
    once the command was handled (its replies are in that DM)."""
    event = Event(
        id=f"web-{uuid.uuid4().hex}",
        platform=tenant.platform,
        tenant=tenant.external_id,
        kind=EventKind.COMMAND,
        actor=Actor(id=user_id),
        conversation=Conversation(id=f"web:{user_id}", kind=ConversationKind.DM),
        command=command_from_args(words),
    )
    delivery = await publish(event)
    return str(await delivery)
