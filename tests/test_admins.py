"""Admins are `platform:workspace:user_id`: the same user id in another workspace is not admin."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from adapters.base import Capabilities, ChannelInfo, Emit
from bot.app import Application
from bot.events import Actor, Conversation, ConversationKind, Event, EventKind, command_from_args
from bot.outbound import OutMessage, SentRef
from bot.settings import Settings
from tests.conftest import make_settings

_ids = itertools.count()


class RecordingSlack:
    """Slack's side of the wire: keeps what the bot sends."""

    name = "slack"
    capabilities = Capabilities()

    def __init__(self) -> None:
        self.sent: list[OutMessage] = []

    async def run(self, emit: Emit) -> None:
        return None

    async def send(self, out: OutMessage) -> SentRef:
        self.sent.append(out)
        return SentRef("slack", f"m{len(self.sent)}")

    async def find_channel(self, tenant: str, ref: str) -> ChannelInfo | None:
        return None

    async def aclose(self) -> None:
        return None


async def started(settings: Settings) -> AsyncIterator[tuple[Application, RecordingSlack]]:
    app = Application(settings)
    await app.start(serve_web=False, adapters=False)
    slack = RecordingSlack()
    assert app.services is not None
    app.services.outbox.register(slack)
    try:
        yield app, slack
    finally:
        await app.stop()


async def status_reply(app: Application, slack: RecordingSlack, team: str, user: str) -> str:
    """What `/skill admin status` typed by `user` in workspace `team` gets back."""
    event = Event(
        id=f"Ev{next(_ids)}",
        platform="slack",
        tenant=team,
        kind=EventKind.COMMAND,
        actor=Actor(id=user, name=user),
        conversation=Conversation(id="C1", kind=ConversationKind.CHANNEL, name="team"),
        occurred_at=datetime.now(UTC),
        text="/skill admin status",
        command=command_from_args("admin status"),
    )
    before = len(slack.sent)
    assert app.bus is not None
    await (await app.bus.publish(event))
    return "\n".join(out.text for out in slack.sent[before:])


@pytest.fixture
async def scoped(tmp_path: Path) -> AsyncIterator[tuple[Application, RecordingSlack]]:
    async for pair in started(make_settings(tmp_path / "d", admins=["slack:T1:U1"])):
        yield pair


async def test_admin_named_with_a_workspace_is_admin_there(scoped) -> None:  # noqa: ANN001
    app, slack = scoped
    assert "Apprentice status" in await status_reply(app, slack, "T1", "U1")


async def test_the_same_user_id_in_another_workspace_is_not_admin(scoped) -> None:  # noqa: ANN001
    app, slack = scoped
    await status_reply(app, slack, "T1", "U1")
    reply = await status_reply(app, slack, "T2", "U1")
    assert "Apprentice status" not in reply and "admin commands are for" in reply


async def test_an_admin_without_a_workspace_counts_only_in_the_first_one(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "d", admins=["slack:U1"])
    with capture_logs() as logs:
        async for app, slack in started(settings):
            first = await status_reply(app, slack, "T1", "U1")
            other = await status_reply(app, slack, "T2", "U1")
            again = await status_reply(app, slack, "T1", "U1")
    assert "Apprentice status" in first and "Apprentice status" in again
    assert "Apprentice status" not in other
    warnings = [e for e in logs if e["event"] == "settings.admin_without_workspace"]
    assert [w["admin"] for w in warnings] == ["slack:U1"]


def test_an_admin_entry_that_names_too_much_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="platform:workspace:user_id"):
        make_settings(tmp_path, admins=["slack:T1:U1:extra"])


def test_console_admin_needs_no_workspace_and_gives_no_warning(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, admins=["console:admin", "dingtalk:corp1:0123"])
    assert settings.admins_without_workspace() == []
