"""`apprentice import slack-export PATH.zip`: a Slack workspace export through the consent gate.

The export (users.json, channels.json, groups.json, one folder per channel with one JSON
file per day) is read straight from the zip. Each message is normalized like a live one and
handed to `bot.imports.runner`, where the gate keeps only messages in channels observed
now, by people whose grant covers both observation and history import. Direct and group
messages are never read. The zip is read one day file at a time and imported batch by
batch, so memory holds one day of one channel, however large the export.
"""

from __future__ import annotations

import asyncio
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from adapters.slack import normalize
from adapters.slack.normalize import PLATFORM, Profile
from adapters.slack.users import profile_of
from bot.events import Event
from bot.imports.manifest import Manifest, consent_state
from bot.imports.report import print_summary, progress_bar
from bot.imports.runner import Importer, import_session
from bot.settings import Settings

MAX_MEMBER_BYTES = 512 * 1024 * 1024  # one day of one channel; more is not an export file
HOW_TO_EXPORT = (
    "Export the workspace from Slack (Workspace settings → Import/Export Data → Export), "
    "download the .zip and pass it unchanged: apprentice import slack-export PATH.zip"
)
_DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
_MENTION_COMMAND = re.compile(r"^\s*<@(?P<user>[A-Z0-9]+)>")  # addressed to a bot: a command

# Skips decided here, before the gate (never a consent decision: those are the gate's).
FROM_A_BOT = "from_a_bot"
SYSTEM_MESSAGE = "system_message"
COMMAND = "command_to_the_bot"
UNREADABLE = "unreadable_day_file"


class ExportError(Exception):
    """The file is not a readable Slack export; the message says what to do instead."""


@dataclass(frozen=True, slots=True)
class ExportChannel:
    id: str
    name: str
    private: bool


@dataclass(slots=True)
class SlackExport:
    archive: zipfile.ZipFile
    root: str
    profiles: dict[str, Profile]
    channels: list[ExportChannel]
    teams: Counter[str] = field(default_factory=Counter)
    private_conversations: int = 0
    _days: dict[str, list[str]] = field(default_factory=dict)
    bots: frozenset[str] = field(default=frozenset(), init=False)

    def __post_init__(self) -> None:
        self.bots = frozenset(user for user, profile in self.profiles.items() if profile.is_bot)

    def day_files(self, channel: ExportChannel) -> list[str]:
        if not self._days:  # one pass over the zip's names, not one per channel
            for name in self.archive.namelist():
                folder, _, file = name[len(self.root) :].rpartition("/")
                if name.startswith(self.root) and folder and _DAY_FILE.match(file):
                    self._days.setdefault(folder, []).append(name)
            for names in self._days.values():
                names.sort()
        return self._days.get(channel.name, [])


def run_import(settings: Settings, path: Path, console: Console) -> None:
    """The CLI entry point: import, print the counts; exit 2 with advice on a bad file."""
    try:
        export = open_export(path)  # a wrong file is refused before the database is touched
        asyncio.run(_import(settings, export, console))
    except ExportError as exc:
        console.print(f"[red]{exc}[/red]")
        raise SystemExit(2) from None


async def import_export(settings: Settings, path: Path, console: Console) -> Counter[str]:
    """Import one export; returns the counts by outcome (also printed)."""
    return await _import(settings, open_export(path), console)


async def _import(settings: Settings, export: SlackExport, console: Console) -> Counter[str]:
    with export.archive:
        async with import_session(settings) as importer:
            tenant = await choose_tenant(export.teams)
            counts, unchanged = await _read_days(importer, export, tenant, console)
        notes = []
        if unchanged:
            notes.append(f"Day files unchanged since the last import, not read again: {unchanged}.")
        if export.private_conversations:
            notes.append(
                f"Direct and group conversations not read: {export.private_conversations} "
                "(Apprentice never reads private conversations)."
            )
        print_summary(console, f"Slack export → workspace {tenant}", counts, notes)
        return counts


async def _read_days(
    importer: Importer, export: SlackExport, tenant: str, console: Console
) -> tuple[Counter[str], int]:
    """Import every day file not read in full before (under today's consent); returns the
    counts by outcome and how many day files were unchanged."""
    manifest = Manifest("slack-export", await consent_state())
    files = []
    for channel in export.channels:
        for name in export.day_files(channel):
            info = export.archive.getinfo(name)  # the zip's directory: nothing decompressed
            key = manifest.key(f"{tenant}|{name}|{info.CRC:08x}|{info.file_size}")
            files.append((channel, name, key))
    seen = await manifest.seen([key for *_, key in files])
    counts: Counter[str] = Counter()
    read: list[str] = []
    with progress_bar(console, "days") as progress:
        task = progress.add_task("Reading the export", total=len(files))
        progress.advance(task, len(seen))

        def events() -> Iterator[Event]:
            for channel, name, key in files:
                if key in seen:
                    continue
                progress.update(task, description=f"#{channel.name}")
                unreadable = counts[UNREADABLE]
                yield from _events_of_day(export, tenant, channel, name, counts)
                if counts[UNREADABLE] == unreadable:
                    read.append(key)
                progress.advance(task)
            progress.update(task, description="Read")

        await importer.run(events(), counts)
    await manifest.record(read)
    if not counts[UNREADABLE]:
        del counts[UNREADABLE]
    return counts, len(seen)


def open_export(path: Path) -> SlackExport:
    """Open and check the zip; raise ExportError saying what is wrong and what to do."""
    if not path.exists():
        raise ExportError(f"There is no file at {path}. {HOW_TO_EXPORT}")
    if path.is_dir():
        raise ExportError(f"{path} is a folder; pass the .zip file itself. {HOW_TO_EXPORT}")
    if not zipfile.is_zipfile(path):
        raise ExportError(f"{path} is not a zip file. {HOW_TO_EXPORT}")
    archive = zipfile.ZipFile(path)
    try:
        root = _root_of(archive, path)
        users = _json_list(archive, root + "users.json", path)
        profiles: dict[str, Profile] = {}
        teams: Counter[str] = Counter()
        for user in users:
            if isinstance(user, dict) and isinstance(user.get("id"), str):
                profiles[user["id"]] = profile_of(user)
                if isinstance(user.get("team_id"), str) and not user.get("is_bot"):
                    teams[user["team_id"]] += 1
        channels = [
            ExportChannel(id=c["id"], name=c["name"], private=private)
            for file, private in (("channels.json", False), ("groups.json", True))
            if root + file in archive.namelist()
            for c in _json_list(archive, root + file, path)
            if isinstance(c, dict) and _is_text(c.get("id")) and _is_text(c.get("name"))
        ]
        private_conversations = sum(
            len(_json_list(archive, root + file, path))
            for file in ("dms.json", "mpims.json")
            if root + file in archive.namelist()
        )
    except BaseException:
        archive.close()
        raise
    return SlackExport(archive, root, profiles, channels, teams, private_conversations)


async def choose_tenant(teams: Counter[str]) -> str:
    """The workspace this export belongs to: its team id, or the one Apprentice observes."""
    from bot.storage.models import Channel, Tenant  # noqa: PLC0415

    known = await Tenant.filter(platform=PLATFORM).values_list("external_id", flat=True)
    observed = set(
        await Channel.filter(tenant__platform=PLATFORM, observed=True).values_list(
            "tenant__external_id", flat=True
        )
    )
    for team, _ in teams.most_common():
        if team in known:
            return team
    if len(observed) == 1:
        return str(next(iter(observed)))
    if teams:
        return teams.most_common(1)[0][0]
    if len(known) == 1:
        return str(known[0])
    raise ExportError(
        "I can't tell which Slack workspace this export belongs to: its users.json names no "
        "team, and Apprentice knows no single Slack workspace. Run the bot with Slack first, "
        "observe the channels to import (/skill admin observe #channel), then import again."
    )


def _events_of_day(
    export: SlackExport, tenant: str, channel: ExportChannel, name: str, skipped: Counter[str]
) -> Iterator[Event]:
    try:
        messages = _json_list(export.archive, name, Path(name))
    except ExportError:
        skipped[UNREADABLE] += 1
        return
    bots = export.bots
    for message in messages:
        if not isinstance(message, dict) or message.get("type", "message") != "message":
            continue
        user = message.get("user")
        if message.get("bot_id") or message.get("subtype") == "bot_message" or user in bots:
            skipped[FROM_A_BOT] += 1
            continue
        if not normalize.is_person_message(message):
            skipped[SYSTEM_MESSAGE] += 1
            continue
        mention = _MENTION_COMMAND.match(str(message.get("text") or ""))
        if mention and mention["user"] in bots:
            skipped[COMMAND] += 1
            continue
        event = normalize.message_event(
            message,
            tenant=tenant,
            event_id=f"export:{channel.id}:{message.get('ts')}",
            channel_id=channel.id,
            channel_type="group" if channel.private else "channel",
            bot_user_id=None,
            profile=export.profiles.get(str(user)),
            channel_name=channel.name,
        )
        if event is None:
            skipped[SYSTEM_MESSAGE] += 1
        else:
            yield event


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _root_of(archive: zipfile.ZipFile, path: Path) -> str:
    """Where channels.json sits: the zip's top level, or one folder down if it was re-zipped."""
    candidates = sorted(
        (name for name in archive.namelist() if name.rsplit("/", 1)[-1] == "channels.json"),
        key=lambda name: name.count("/"),
    )
    for candidate in candidates:
        root = candidate[: -len("channels.json")]
        if root + "users.json" in archive.namelist():
            return root
    raise ExportError(
        f"{path} is a zip file but not a Slack workspace export: it has no users.json and "
        f"channels.json. {HOW_TO_EXPORT}"
    )


def _json_list(archive: zipfile.ZipFile, member: str, path: Path) -> list[Any]:
    info = archive.getinfo(member)
    if info.file_size > MAX_MEMBER_BYTES:
        raise ExportError(f"{member} in {path} is too large to be part of a Slack export.")
    try:
        value = json.loads(archive.read(info))
    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
        raise ExportError(
            f"{member} in {path} is not valid JSON: the export may be damaged. "
            "Download it from Slack again."
        ) from exc
    if not isinstance(value, list):
        raise ExportError(f"{member} in {path} is not a list as Slack writes it. {HOW_TO_EXPORT}")
    return value
