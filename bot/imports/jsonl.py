"""`apprentice import messages FILE.jsonl`: history from any tool, one JSON message per line.

Each line is an object with `platform`, `tenant`, `channel`, `user`, `time`, `text` and `id`
(optional: `thread`, `conversation`, `user_name`, `channel_name`, `bot`). The whole file is
checked before anything is imported: one bad line and nothing is imported, and the error
names every bad line by number and what is wrong with it (never its text), so the file can
be fixed and imported again. Importing is idempotent on (tenant, id), so running it again
after a fix, or twice, keeps each message once.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from bot.events import MAX_TEXT_CHARS, Actor, Conversation, ConversationKind, Event, EventKind
from bot.imports.manifest import Manifest, consent_state
from bot.imports.report import print_summary, progress_bar
from bot.imports.runner import import_session
from bot.settings import Settings

PLATFORMS = ("slack", "lark", "dingtalk", "console")
REQUIRED = ("platform", "tenant", "channel", "user", "time", "text", "id")
KINDS = {kind.value: kind for kind in ConversationKind}
MAX_LINE_BYTES = 1024 * 1024
MAX_ID_CHARS = 128
SHOWN_ERRORS = 20
RUN_LINES = 1000  # lines remembered together as imported (bot/imports/manifest.py)
MILLISECONDS_FROM = 100_000_000_000  # a "seconds" value this large is milliseconds (year 5138)
FORMAT_HELP = (
    'Each line must be one JSON object such as {"platform": "slack", "tenant": "T0123", '
    '"channel": "C0456", "user": "U0789", "time": "2026-11-30T09:15:00Z", "text": "…", '
    '"id": "C0456:1701335700.000100"}. README.md, section "Importing history", describes it.'
)


class JsonlError(Exception):
    """The file cannot be imported as it is; the message lists what to fix."""


@dataclass(frozen=True, slots=True)
class BadLine:
    number: int
    problem: str  # what is wrong, in words that never quote the line's content

    def __str__(self) -> str:
        return f"line {self.number}: {self.problem}"


def check_file(
    path: Path, known: Collection[str] = (), manifest: Manifest | None = None
) -> tuple[int, list[BadLine]]:
    """Read the file once (but runs of lines imported before): (messages, bad lines)."""
    messages, bad = 0, []
    for number, raw in _lines(path, known, manifest):
        try:
            if parse_line(raw, number) is not None:
                messages += 1
        except LineError as exc:
            bad.append(BadLine(number, exc.problem))
    return messages, bad


class LineError(ValueError):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def parse_line(raw: bytes, number: int) -> Event | None:
    """One line → an imported MESSAGE event (None for a blank line); LineError when bad."""
    if not raw.strip():
        return None
    if len(raw) > MAX_LINE_BYTES:
        raise LineError(f"longer than {MAX_LINE_BYTES // 1024} KiB: is it one message?")
    try:
        item = json.loads(raw)
    except UnicodeDecodeError:
        raise LineError("not UTF-8: save the file as UTF-8") from None
    except ValueError as exc:
        raise LineError(f"not valid JSON ({_json_problem(exc)})") from None
    if not isinstance(item, dict):
        raise LineError("not a JSON object: each line is one {...} message")
    missing = [name for name in REQUIRED if name not in item]
    if missing:
        raise LineError("missing " + ", ".join(f'"{name}"' for name in missing))
    platform = _text_field(item, "platform")
    if platform not in PLATFORMS:
        raise LineError(f'"platform" must be one of {", ".join(PLATFORMS)}')
    ids = {name: _text_field(item, name) for name in ("tenant", "channel", "user", "id")}
    for name, value in ids.items():
        if not value.strip():
            raise LineError(f'"{name}" is empty')
        if len(value) > MAX_ID_CHARS:
            raise LineError(f'"{name}" is longer than {MAX_ID_CHARS} characters')
    text = item["text"]
    if not isinstance(text, str):
        raise LineError('"text" must be a string')
    if len(text) > MAX_TEXT_CHARS:
        raise LineError(f'"text" is longer than {MAX_TEXT_CHARS} characters: split it')
    kind = item.get("conversation", "channel")
    if kind not in KINDS:
        raise LineError(f'"conversation" must be one of {", ".join(KINDS)}')
    thread = _optional_text(item, "thread")
    return Event(
        id=f"import:{ids['id']}",
        platform=platform,
        tenant=ids["tenant"],
        kind=EventKind.MESSAGE,
        actor=Actor(
            id=ids["user"],
            name=_optional_text(item, "user_name") or "",
            is_bot=_flag(item, "bot"),
        ),
        conversation=Conversation(
            id=ids["channel"],
            kind=KINDS[kind],
            thread_id=thread,
            name=_optional_text(item, "channel_name") or "",
        ),
        occurred_at=_time(item["time"]),
        text=text,
        message_id=ids["id"],
        imported=True,
    )


async def import_messages(settings: Settings, path: Path, console: Console) -> Counter[str]:
    """Check the file, then import it; returns the counts by outcome (also printed)."""
    if not path.is_file():
        raise JsonlError(f"There is no file at {path}. {FORMAT_HELP}")
    async with import_session(settings) as importer:
        manifest = Manifest("messages", await consent_state())
        runs = [(manifest.key(b"".join(run)), len(run)) for _, run in _runs(path)]
        known = await manifest.seen([key for key, _ in runs])
        total, bad = check_file(path, known, manifest)
        if bad:
            raise JsonlError(_bad_lines_message(path, bad))
        counts: Counter[str] = Counter()
        with progress_bar(console, "messages") as progress:
            task = progress.add_task(f"Importing {path.name}", total=total)
            events = _events(path, known, manifest)
            await importer.run(events, counts, on_batch=lambda n: progress.advance(task, n))
        await manifest.record(key for key, _ in runs if key not in known)
    unchanged = sum(lines for key, lines in runs if key in known)
    notes = [f"Lines unchanged since the last import, not read again: {unchanged}."]
    print_summary(console, f"{path.name} → Apprentice", counts, notes if unchanged else ())
    return counts


def run_import(settings: Settings, path: Path, console: Console) -> None:
    """The CLI entry point: exit 2 with the list of bad lines, having imported nothing."""
    import asyncio  # noqa: PLC0415

    try:
        asyncio.run(import_messages(settings, path, console))
    except JsonlError as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        raise SystemExit(2) from None


def _events(path: Path, known: Collection[str], manifest: Manifest) -> Iterator[Event]:
    for number, raw in _lines(path, known, manifest):
        event = parse_line(raw, number)
        if event is not None:
            yield event


def _lines(
    path: Path, known: Collection[str] = (), manifest: Manifest | None = None
) -> Iterator[tuple[int, bytes]]:
    """(line number, line), leaving out the runs of lines whose key is `known`."""
    for first, run in _runs(path):
        if manifest is None or manifest.key(b"".join(run)) not in known:
            yield from enumerate(run, start=first)


def _runs(path: Path) -> Iterator[tuple[int, list[bytes]]]:
    """The file in runs of RUN_LINES lines: (first line number, lines)."""
    if not path.is_file():
        raise JsonlError(f"There is no file at {path}. {FORMAT_HELP}")
    with path.open("rb") as file:
        run: list[bytes] = []
        first = 1
        for number, raw in enumerate(file, start=1):
            run.append(raw)
            if len(run) == RUN_LINES:
                yield first, run
                first, run = number + 1, []
        if run:
            yield first, run


def _bad_lines_message(path: Path, bad: list[BadLine]) -> str:
    shown = "\n".join(f"  {line}" for line in bad[:SHOWN_ERRORS])
    more = f"\n  … and {len(bad) - SHOWN_ERRORS} more" if len(bad) > SHOWN_ERRORS else ""
    return (
        f"{path} has {len(bad)} line(s) I cannot read, so nothing was imported:\n"
        f"{shown}{more}\nFix them and run the import again (messages imported before are "
        f"not imported twice). {FORMAT_HELP}"
    )


def _text_field(item: dict[str, Any], name: str) -> str:
    value = item[name]
    if isinstance(value, int) and not isinstance(value, bool) and name in ("id", "user"):
        return str(value)  # numeric ids (Mattermost, scripts) are ids all the same
    if not isinstance(value, str):
        raise LineError(f'"{name}" must be a string')
    return value


def _optional_text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise LineError(f'"{name}" must be a string when given')
    return value[:200] or None


def _flag(item: dict[str, Any], name: str) -> bool:
    value = item.get(name, False)
    if not isinstance(value, bool):
        raise LineError(f'"{name}" must be true or false when given')
    return value


def _time(value: object) -> datetime:
    if isinstance(value, bool):
        raise LineError('"time" must be an ISO 8601 time or seconds since 1970')
    if isinstance(value, int | float):
        if value >= MILLISECONDS_FROM:
            raise LineError('"time" looks like milliseconds: give seconds since 1970')
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise LineError('"time" is not a time') from None
    if not isinstance(value, str):
        raise LineError('"time" must be an ISO 8601 time or seconds since 1970')
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise LineError('"time" is not ISO 8601 (such as 2026-11-30T09:15:00Z)') from None
    if when.tzinfo is None:
        raise LineError('"time" has no time zone: add Z (UTC) or an offset such as +08:00')
    return when.astimezone(UTC)


def _json_problem(exc: ValueError) -> str:
    """json's own reason without the position's context (which could quote the text)."""
    message = str(exc)
    return message.split(":", 1)[0] if ":" in message else message
