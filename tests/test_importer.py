"""History import honours the separate history consent and observed channels exactly."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from adapters.console.normalize import PostedMessage, message_event
from bot.app import Application
from bot.imports.runner import OLDER_THAN_RETENTION, import_history
from bot.settings import Settings
from tests.conftest import ConsoleClient
from tests.imports_support import agree_to_history


def exported(user: str, channel: str, text: str, message_id: str, days_ago: int = 3):
    when = datetime.now(UTC) - timedelta(days=days_ago)
    return message_event(PostedMessage(user, channel, text), uuid.uuid4().hex, message_id, when)


async def test_import_keeps_only_history_grants_in_observed_channels(
    app: Application, console: ConsoleClient, settings: Settings
) -> None:
    await console.say("admin", "team", "/skill admin observe #team")
    await console.opt_in("alice")
    await agree_to_history(console, "alice")
    await console.opt_in("bob")  # observes, but never agreed to history import
    await app.stop()

    events = [
        exported("alice", "team", "alice old report", "h1"),
        exported("bob", "team", "bob old report", "h2"),
        exported("carol", "team", "carol old note", "h3"),
        exported("alice", "random", "alice in random", "h4"),
        exported("alice", "team", "alice ancient", "h5", days_ago=400),
    ]
    first = await import_history(settings, events)
    assert first == {
        "stored": 1,
        "author_has_no_history_grant": 1,
        "author_has_no_grant": 1,
        "channel_not_observed": 1,
        OLDER_THAN_RETENTION: 1,
    }
    second = await import_history(settings, events)
    assert second["stored"] == 0 and second["already_stored"] == 1
