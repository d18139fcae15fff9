"""`apprentice import messages FILE.jsonl`: any tool's history, through the same consent gate."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from typer.testing import CliRunner

from bot.app import Application
from bot.imports.jsonl import JsonlError, check_file, import_messages
from bot.settings import Settings
from tests.conftest import ConsoleClient
from tests.imports_support import (
    agree_to_history,
    database_bytes,
    quiet_console,
    shown,
    stored_message_ids,
    stored_texts,
)

RECENT = (datetime.now(UTC) - timedelta(days=3)).isoformat()


def line(user: str, channel: str, text: str, message_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "platform": "console",
        "tenant": "local",
        "channel": channel,
        "user": user,
        "time": RECENT,
        "text": text,
        "id": message_id,
        **extra,
    }


def write_jsonl(path: Path, items: list[dict[str, Any] | str]) -> Path:
    path.write_text(
        "\n".join(i if isinstance(i, str) else json.dumps(i, ensure_ascii=False) for i in items)
        + "\n",
        encoding="utf-8",
    )
    return path


MIXED = [
    line("alice", "team", "alice: weekly report, shipped the exporter", "j-alice-1"),
    line("alice", "team", "alice 周报：完成了导出功能", "j-alice-2", thread="j-alice-1"),
    line("bob", "team", "bob agreed to be observed, not to history", "j-bob-1"),
    line("carol", "team", "carol never agreed to anything", "j-carol-1"),
    line("alice", "random", "alice in a channel nobody observes", "j-alice-3"),
    line("alice", "dm:alice", "alice in a direct message", "j-alice-4", conversation="dm"),
    line("alice", "team", "alice long ago", "j-alice-5", time="2001-01-01T00:00:00+08:00"),
]


@pytest.fixture
async def consented(app: Application, console: ConsoleClient) -> Settings:
    """#team observed; alice agreed to observation and history, bob to observation only."""
    await console.say("admin", "team", "/skill admin observe #team")
    await console.opt_in("alice")
    await agree_to_history(console, "alice")
    await console.opt_in("bob")
    await app.stop()
    return app.settings


async def test_only_history_consent_in_observed_channels_is_imported(
    consented: Settings, tmp_path: Path
) -> None:
    counts = await import_messages(
        consented, write_jsonl(tmp_path / "m.jsonl", MIXED), quiet_console()
    )
    assert counts == {
        "stored": 2,
        "author_has_no_history_grant": 1,
        "author_has_no_grant": 1,
        "channel_not_observed": 1,
        "private_conversation": 1,
        "older_than_retention": 1,
    }
    assert stored_message_ids(consented) == {"alice": ["j-alice-1", "j-alice-2"]}
    assert await stored_texts(consented, "console", "local", "alice") == sorted(
        ["alice: weekly report, shipped the exporter", "alice 周报：完成了导出功能"]
    )
    stored = database_bytes(consented)
    for refused in ("j-bob-1", "j-carol-1", "j-alice-3", "j-alice-4", "j-alice-5"):
        assert refused.encode() not in stored


async def test_importing_twice_keeps_each_message_once(consented: Settings, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "m.jsonl", MIXED)
    await import_messages(consented, path, quiet_console())
    console = quiet_console()
    again = await import_messages(consented, path, console)
    assert "stored" not in again and "already_stored" not in again  # not even read again
    assert "Lines unchanged since the last import, not read again: 7." in shown(console)
    assert stored_message_ids(consented) == {"alice": ["j-alice-1", "j-alice-2"]}


async def test_lines_added_to_a_file_are_imported_and_the_rest_skipped(
    consented: Settings, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "m.jsonl", MIXED)
    await import_messages(consented, path, quiet_console())
    write_jsonl(path, [*MIXED, line("alice", "team", "alice, one more", "j-alice-6")])
    again = await import_messages(consented, path, quiet_console())
    assert again["stored"] == 1 and again["already_stored"] == 2
    assert stored_message_ids(consented)["alice"] == ["j-alice-1", "j-alice-2", "j-alice-6"]


async def test_a_new_history_consent_reads_the_file_again(
    consented: Settings, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "m.jsonl", MIXED)
    await import_messages(consented, path, quiet_console())
    app = Application(consented)
    await app.start()
    async with ClientSession() as session:
        console = ConsoleClient(session, f"http://127.0.0.1:{consented.web_port}")
        await agree_to_history(console, "bob")
    await app.stop()
    again = await import_messages(consented, path, quiet_console())
    assert again["stored"] == 1 and again["already_stored"] == 2


async def test_a_message_twice_in_one_file_is_kept_once(
    consented: Settings, tmp_path: Path
) -> None:
    items: list[dict[str, Any] | str] = [MIXED[0], MIXED[0]]
    counts = await import_messages(
        consented, write_jsonl(tmp_path / "m.jsonl", items), quiet_console()
    )
    assert counts == {"stored": 1, "duplicate_event": 1}


async def test_personal_data_is_redacted_before_it_is_stored(
    consented: Settings, tmp_path: Path
) -> None:
    items: list[dict[str, Any] | str] = [
        line("alice", "team", "call me on 13812345678 or alice@example.com", "j-pii")
    ]
    await import_messages(consented, write_jsonl(tmp_path / "m.jsonl", items), quiet_console())
    assert await stored_texts(consented, "console", "local", "alice") == [
        "call me on [phone] or [email]"
    ]


async def test_a_bad_line_imports_nothing_and_names_every_bad_line(
    consented: Settings, tmp_path: Path
) -> None:
    items: list[dict[str, Any] | str] = [
        MIXED[0],
        '{"platform": "console", "text": "secret words in a broken line"',
        line("alice", "team", "no zone", "j-x", time="2026-11-30T09:15:00"),
        "",
        line("alice", "team", "milliseconds", "j-y", time=1764494100000),
        {k: v for k, v in MIXED[1].items() if k != "user"},
    ]
    path = write_jsonl(tmp_path / "m.jsonl", items)
    with pytest.raises(JsonlError) as raised:
        await import_messages(consented, path, quiet_console())
    message = str(raised.value)
    assert "4 line(s)" in message and "nothing was imported" in message
    assert "line 2: not valid JSON" in message
    assert 'line 3: "time" has no time zone' in message
    assert 'line 5: "time" looks like milliseconds' in message
    assert 'line 6: missing "user"' in message
    assert "secret words" not in message  # an error never quotes anyone's text
    assert stored_message_ids(consented) == {}


def test_a_good_file_checks_clean(tmp_path: Path) -> None:
    messages, bad = check_file(write_jsonl(tmp_path / "m.jsonl", [*MIXED, ""]))
    assert (messages, bad) == (len(MIXED), [])


async def test_the_summary_counts_by_reason_without_names_or_text(
    consented: Settings, tmp_path: Path
) -> None:
    console = quiet_console()
    await import_messages(consented, write_jsonl(tmp_path / "m.jsonl", MIXED), console)
    said = shown(console)
    assert "7/7 messages" in said
    assert "Imported 2 messages; skipped 5." in said
    assert "author has not agreed to history import" in said
    for private in ("alice", "bob", "carol", "weekly report"):
        assert private not in said


def test_the_cli_refuses_a_bad_file_with_line_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import app as cli

    path = write_jsonl(tmp_path / "m.jsonl", ["[1, 2]"])
    monkeypatch.setenv("APPRENTICE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr("bot.cli._configure_logging", lambda settings: None)
    result = CliRunner().invoke(cli, ["import", "messages", str(path)])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "line 1: not a JSON object" in said and "nothing was imported" in said
    with sqlite3.connect(tmp_path / "data" / "apprentice.db") as db:
        assert db.execute("SELECT COUNT(*) FROM observations").fetchone() == (0,)
