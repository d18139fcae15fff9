"""`apprentice import slack-export`: consent and observed channels decide, exactly."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from adapters.slack.export import ExportError, import_export, open_export
from bot.app import Application
from bot.settings import Settings
from tests.fakes.slack import (
    ALICE,
    BOB,
    BOT_USER_ID,
    CAROL,
    RANDOM_CHANNEL,
    TEAM_CHANNEL,
    TEAM_ID,
    FakeSlack,
    HttpTransport,
    SignedPoster,
    Workspace,
    running_app,
    running_fake,
    slack_settings,
)

DAY = timedelta(days=1)


def ts(days_ago: float, n: int = 0) -> str:
    when = datetime.now(UTC) - days_ago * DAY
    return f"{int(when.timestamp())}.{n:06d}"


def person(user_id: str, name: str, team: str | None = TEAM_ID, **extra: Any) -> dict[str, Any]:
    user = {
        "id": user_id,
        "name": name,
        "real_name": name.title(),
        "deleted": False,
        "is_bot": False,
        "profile": {"display_name": name, "real_name": name.title()},
    }
    if team:
        user["team_id"] = team
    return {**user, **extra}


def said(user: str, text: str, stamp: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "user": user,
        "text": text,
        "ts": stamp,
        "team": TEAM_ID,
        "client_msg_id": f"m-{stamp}",
        **extra,
    }


TEAM_DAY = [
    said(ALICE, "alice weekly report: shipped the invoice export", ts(3, 1)),
    said(ALICE, "replying in the thread", ts(3, 2), thread_ts=ts(3, 1), parent_user_id=ALICE),
    said(BOB, "bob agreed to be observed, not to history import", ts(3, 3)),
    said(CAROL, "carol never agreed to anything", ts(3, 4)),
    {
        "type": "message",
        "subtype": "channel_join",
        "user": CAROL,
        "text": "<@U0CAROL> has joined",
        "ts": ts(3, 5),
    },
    {
        "type": "message",
        "subtype": "bot_message",
        "bot_id": "B0CI",
        "text": "build passed",
        "ts": ts(3, 6),
    },
]


def write_export(
    path: Path, *, team: str | None = TEAM_ID, extra: dict[str, Any] | None = None
) -> Path:
    files: dict[str, Any] = {
        "users.json": [
            person(ALICE, "alice", team),
            person(BOB, "bob", team),
            person(CAROL, "carol", team),
            person(BOT_USER_ID, "apprentice", team, is_bot=True),
        ],
        "channels.json": [
            {"id": TEAM_CHANNEL, "name": "team", "created": 1600000000, "is_archived": False},
            {"id": RANDOM_CHANNEL, "name": "random", "created": 1600000000, "is_archived": False},
        ],
        "dms.json": [{"id": "D0ALICE", "created": 1600000000, "members": [ALICE, BOB]}],
        f"team/{datetime.now(UTC) - 3 * DAY:%Y-%m-%d}.json": TEAM_DAY,
        f"team/{datetime.now(UTC) - 400 * DAY:%Y-%m-%d}.json": [
            said(ALICE, "alice, more than a year ago", ts(400))
        ],
        f"random/{datetime.now(UTC) - 2 * DAY:%Y-%m-%d}.json": [
            said(ALICE, "alice in random, which is not observed", ts(2))
        ],
        "D0ALICE/2026-01-01.json": [said(ALICE, "a private DM that is never read", ts(5))],
    }
    files.update(extra or {})
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content if isinstance(content, str) else json.dumps(content))
    return path


@pytest.fixture
async def consented(tmp_path: Path) -> AsyncIterator[tuple[Settings, FakeSlack]]:
    """#team observed; alice agreed to observation and history, bob to observation only."""
    async with running_fake() as fake:
        settings = slack_settings(tmp_path / "data", fake)
        async with running_app(settings) as app:
            await _agree(app, fake)
        yield settings, fake


async def _agree(app: Application, fake: FakeSlack) -> None:
    from aiohttp import ClientSession

    url = f"http://127.0.0.1:{app.settings.web_port}/slack/events"
    async with ClientSession() as session:
        slack = Workspace(fake, HttpTransport(SignedPoster(session, url)))
        await slack.observe(TEAM_CHANNEL, "team")
        await slack.opt_in(ALICE)
        await slack.opt_in(ALICE, "history")
        await slack.opt_in(BOB)


def quiet_console() -> Console:
    return Console(file=io.StringIO(), width=120, force_terminal=False)


async def stored_texts(settings: Settings, user_id: str) -> list[str]:
    async with running_app(settings.model_copy(update={"console": False})) as app:
        assert app.services is not None
        tenant = await app.services.directory.find_tenant("slack", TEAM_ID)
        assert tenant is not None
        found = await app.services.people.find(tenant, user_id)
        return [o.text for o in await app.services.observations.read(found)] if found else []


async def test_import_keeps_only_history_grants_in_observed_channels(
    consented: tuple[Settings, FakeSlack], tmp_path: Path
) -> None:
    settings, fake = consented
    posted_before = len(fake.posted)
    counts = await import_export(settings, write_export(tmp_path / "e.zip"), quiet_console())
    assert counts == {
        "stored": 2,
        "author_has_no_history_grant": 1,
        "author_has_no_grant": 1,
        "channel_not_observed": 1,
        "older_than_retention": 1,
        "from_a_bot": 1,
        "system_message": 1,
    }
    assert sorted(await stored_texts(settings, ALICE)) == [
        "alice weekly report: shipped the invoice export",
        "replying in the thread",
    ]
    assert await stored_texts(settings, BOB) == []
    assert len(fake.posted) == posted_before  # nobody was DMed


async def test_importing_twice_imports_nothing_new(
    consented: tuple[Settings, FakeSlack], tmp_path: Path
) -> None:
    settings, _ = consented
    export = write_export(tmp_path / "e.zip")
    await import_export(settings, export, quiet_console())
    console = quiet_console()
    again = await import_export(settings, export, console)
    assert again["stored"] == 0 and again["already_stored"] == 0
    said = " ".join(console.file.getvalue().split())  # type: ignore[attr-defined]
    assert "Day files unchanged since the last import, not read again: 3." in said
    assert sorted(await stored_texts(settings, ALICE)) == [
        "alice weekly report: shipped the invoice export",
        "replying in the thread",
    ]


async def test_a_new_history_consent_makes_the_next_import_read_it_all_again(
    consented: tuple[Settings, FakeSlack], tmp_path: Path
) -> None:
    settings, fake = consented
    export = write_export(tmp_path / "e.zip")
    await import_export(settings, export, quiet_console())
    async with running_app(settings) as app:
        from aiohttp import ClientSession

        url = f"http://127.0.0.1:{app.settings.web_port}/slack/events"
        async with ClientSession() as session:
            await Workspace(fake, HttpTransport(SignedPoster(session, url))).opt_in(BOB, "history")
    again = await import_export(settings, export, quiet_console())
    assert again["stored"] == 1 and again["already_stored"] == 2  # bob's one message, now
    assert await stored_texts(settings, BOB) == ["bob agreed to be observed, not to history import"]


async def test_the_summary_shows_progress_and_counts_by_reason(
    consented: tuple[Settings, FakeSlack], tmp_path: Path
) -> None:
    settings, _ = consented
    console = quiet_console()
    await import_export(settings, write_export(tmp_path / "e.zip"), console)
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "3/3" in shown  # day files read
    assert "Imported 2 messages; skipped 6." in shown
    assert "author has not agreed to history import" in shown
    assert "Direct and group conversations not read: 1" in shown


async def test_an_export_without_team_ids_goes_to_the_observed_workspace(
    consented: tuple[Settings, FakeSlack], tmp_path: Path
) -> None:
    settings, _ = consented
    export = write_export(tmp_path / "e.zip", team=None)
    counts = await import_export(settings, export, quiet_console())
    assert counts["stored"] == 2


async def test_a_re_zipped_export_in_a_folder_is_read(tmp_path: Path) -> None:
    inner = write_export(tmp_path / "inner.zip")
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(inner) as source, zipfile.ZipFile(outer, "w") as target:
        for name in source.namelist():
            target.writestr(f"My Workspace Slack export/{name}", source.read(name))
    export = open_export(outer)
    assert [c.name for c in export.channels] == ["team", "random"]
    assert len(export.day_files(export.channels[0])) == 2


def test_a_file_that_is_not_a_zip_is_refused_with_advice(tmp_path: Path) -> None:
    bad = tmp_path / "export.zip"
    bad.write_text("not a zip")
    with pytest.raises(ExportError, match="is not a zip file.*Import/Export Data"):
        open_export(bad)


def test_a_zip_that_is_not_a_slack_export_is_refused_with_advice(tmp_path: Path) -> None:
    other = tmp_path / "photos.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("cat.jpg", b"\xff\xd8")
    with pytest.raises(ExportError, match="not a Slack workspace export"):
        open_export(other)


def test_the_cli_explains_a_bad_file_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import app as cli

    bad = tmp_path / "export.zip"
    bad.write_text("not a zip")
    monkeypatch.setenv("APPRENTICE_DATA_DIR", str(tmp_path / "data"))
    # The CLI points logging at the runner's stream; keep the session's logging as it was.
    monkeypatch.setattr("bot.cli._configure_logging", lambda settings: None)
    result = CliRunner().invoke(cli, ["import", "slack-export", str(bad)])
    assert result.exit_code == 2
    said = " ".join(result.output.split())  # rich wraps long lines
    assert "is not a zip file" in said and "Import/Export Data → Export" in said
    assert not (tmp_path / "data").exists()  # refused before the database was touched


def test_the_cli_imports_and_ends_with_the_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import app as cli

    export = write_export(tmp_path / "export.zip")
    monkeypatch.setenv("APPRENTICE_DATA_DIR", str(tmp_path / "data"))
    # The CLI points logging at the runner's stream; keep the session's logging as it was.
    monkeypatch.setattr("bot.cli._configure_logging", lambda settings: None)
    result = CliRunner().invoke(cli, ["import", "slack-export", str(export)])
    said = " ".join(result.output.split())
    assert result.exit_code == 0, said
    assert "Imported 0 messages; skipped 8." in said  # nothing is observed in a new database
    assert "channel not observed" in said and "/skill admin observe" in said
