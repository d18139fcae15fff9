"""`apprentice import mail FILE.mbox|DIR --channel CHANNEL`: a mailbox into one observed channel.

The admin names the channel the mailbox belongs to (it must be observed). A mail is kept
only when its sender's address is linked to a person (`/skill link-email`, confirmed by them)
and that person's grant covers observation and history import — the ConsentGate decides, as
for any import. Only the sender's own words are kept (bot/imports/mail_text.py); attachments
are never read. A mail's Message-ID makes importing idempotent.
"""

from __future__ import annotations

import hashlib
import mailbox
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

from rich.console import Console

from bot.email_links import EmailLinks, normalize_address
from bot.events import MAX_TEXT_CHARS, Actor, Conversation, ConversationKind, Event, EventKind
from bot.imports.mail_text import own_words
from bot.imports.manifest import Manifest, consent_state
from bot.imports.report import print_summary, progress_bar
from bot.imports.runner import import_session
from bot.settings import Settings

NO_LINKED_AUTHOR = "no_linked_author"
NO_OWN_WORDS = "no_own_words"
UNDATED = "undated"
UNREADABLE = "unreadable_mail"
AUTOMATIC = "from_a_bot"
LOOKUP_GROUP = 500  # mails whose keys are looked up together
_PARSER = BytesParser(policy=policy.default)


class MailImportError(Exception):
    """The mailbox or channel cannot be used; the message says what to do instead."""


@dataclass(frozen=True, slots=True)
class TargetChannel:
    platform: str
    tenant: str
    tenant_id: int
    channel_id: str
    name: str


async def resolve_channel(name: str, platform: str | None = None) -> TargetChannel:
    """The observed channel an admin named (`#team`, `team` or its id)."""
    from tortoise.expressions import Q  # noqa: PLC0415

    from bot.storage.models import Channel  # noqa: PLC0415

    wanted = name.strip().lstrip("#")
    query = Channel.filter(Q(channel_id=wanted) | Q(name__iexact=wanted), observed=True)
    if platform:
        query = query.filter(tenant__platform=platform)
    found = await query.prefetch_related("tenant")
    if not found:
        raise MailImportError(
            f"No observed channel is called {name!r}. Mail is imported only into a channel "
            "an admin observes: /skill admin observe in that channel, then import again."
        )
    if len(found) > 1:
        where = ", ".join(sorted(f"{c.tenant.platform}:{c.channel_id}" for c in found))
        raise MailImportError(
            f"Several observed channels are called {name!r} ({where}): name one by its id, "
            "or add --platform."
        )
    channel = found[0]
    return TargetChannel(
        channel.tenant.platform,
        channel.tenant.external_id,
        channel.tenant_id,
        channel.channel_id,
        channel.name,
    )


def mail_files(path: Path) -> tuple[int, Iterator[bytes]]:
    """(how many mails, their raw bytes one at a time) for an mbox, an .eml or a folder."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.eml") if p.is_file())
        if not files:
            raise MailImportError(
                f"{path} holds no .eml files. Pass an .mbox file or a folder of .eml files."
            )
        return len(files), (f.read_bytes() for f in files)
    if not path.is_file():
        raise MailImportError(f"There is no file or folder at {path}.")
    if path.suffix.lower() == ".eml":
        return 1, iter([path.read_bytes()])
    with path.open("rb") as file:
        if not file.read(5) == b"From ":
            raise MailImportError(
                f"{path} is not an mbox file (it does not start with a 'From ' line). Export "
                "the mailbox as mbox, or pass a folder of .eml files."
            )
    box = mailbox.mbox(path, create=False)
    keys = list(box.keys())  # the mbox's table of contents: offsets only, no mail held

    def read() -> Iterator[bytes]:
        try:
            for key in keys:
                yield box.get_bytes(key)
        finally:
            box.close()

    return len(keys), read()


async def import_mail(
    settings: Settings, path: Path, channel: str, console: Console, platform: str | None = None
) -> Counter[str]:
    """Import the mailbox into the named observed channel; returns counts by outcome."""
    total, raws = mail_files(path)
    counts: Counter[str] = Counter()
    async with import_session(settings) as importer:
        target = await resolve_channel(channel, platform)
        links = EmailLinks(importer.vault)
        people = await links.people_by_digest(target.tenant_id)
        manifest = Manifest("mail", await consent_state())
        read: list[str] = []
        unchanged = 0

        def key(raw: bytes) -> str:  # the same mail into another channel is read again
            return manifest.key(f"{target.tenant_id}|{target.channel_id}|".encode() + raw)

        async def events(group: list[bytes]) -> AsyncIterator[Event]:
            nonlocal unchanged
            keys = [key(raw) for raw in group]
            seen = await manifest.seen(keys)
            for raw, mail_key in zip(group, keys, strict=True):
                progress.advance(task)
                if mail_key in seen:
                    unchanged += 1
                    continue
                unreadable = counts[UNREADABLE]
                event = mail_event(raw, target, people, links, counts)
                if counts[UNREADABLE] == unreadable:
                    read.append(mail_key)
                if event is not None:
                    yield event

        async def all_events() -> AsyncIterator[Event]:
            for group in _groups(raws, LOOKUP_GROUP):
                async for event in events(group):
                    yield event

        with progress_bar(console, "mails") as progress:
            task = progress.add_task(f"{path.name} → #{target.name}", total=total)
            await importer.run(all_events(), counts)
        await manifest.record(read)
    notes = [f"Mails unchanged since the last import, not read again: {unchanged}."]
    title = f"{path.name} → #{target.name} ({target.platform})"
    print_summary(console, title, counts, notes if unchanged else ())
    return counts


def _groups(raws: Iterator[bytes], size: int) -> Iterator[list[bytes]]:
    group: list[bytes] = []
    for raw in raws:
        group.append(raw)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def mail_event(
    raw: bytes,
    target: TargetChannel,
    people: dict[str, str],
    links: EmailLinks,
    counts: Counter[str],
) -> Event | None:
    """One mail → an imported message of its linked sender; None (counted) otherwise."""
    try:
        message = _PARSER.parsebytes(raw)
        assert isinstance(message, EmailMessage)
        senders = getaddresses([str(message.get("From", "") or "")])
    except Exception:  # a damaged mail is skipped and counted, never fatal
        counts[UNREADABLE] += 1
        return None
    addresses = {normalize_address(address) for _, address in senders} - {None}
    user_id = None
    if len(addresses) == 1:
        user_id = people.get(links.digest(target.tenant_id, str(next(iter(addresses)))))
    if user_id is None:
        counts[NO_LINKED_AUTHOR] += 1  # decided before a word of the body is read
        return None
    if str(message.get("Auto-Submitted", "no")).strip().lower() != "no":
        counts[AUTOMATIC] += 1  # out-of-office and other automatic replies
        return None
    when = _date(message)
    if when is None:
        counts[UNDATED] += 1
        return None
    try:
        text = own_words(message)
    except Exception:  # an undecodable body: skipped and counted
        counts[UNREADABLE] += 1
        return None
    if not text:
        counts[NO_OWN_WORDS] += 1
        return None
    message_id = _message_id(message, raw)
    return Event(
        id=message_id,
        platform=target.platform,
        tenant=target.tenant,
        kind=EventKind.MESSAGE,
        actor=Actor(id=user_id),
        conversation=Conversation(
            id=target.channel_id, kind=ConversationKind.CHANNEL, name=target.name
        ),
        occurred_at=when,
        text=text[:MAX_TEXT_CHARS],
        message_id=message_id,
        imported=True,
    )


def run_import(
    settings: Settings, path: Path, channel: str, console: Console, platform: str | None
) -> None:
    """The CLI entry point: exit 2 with advice on a wrong mailbox or channel."""
    import asyncio  # noqa: PLC0415

    try:
        asyncio.run(import_mail(settings, path, channel, console, platform))
    except MailImportError as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        raise SystemExit(2) from None


def _date(message: EmailMessage) -> datetime | None:
    try:
        when = parsedate_to_datetime(str(message.get("Date", "") or ""))
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _message_id(message: EmailMessage, raw: bytes) -> str:
    """`mail:` + a hash of the Message-ID (it may hold an address), or of the whole mail."""
    header = str(message.get("Message-ID", "") or "").strip()
    digest = hashlib.sha256(header.encode() if header else raw).hexdigest()
    return f"mail:{digest[:40]}"
