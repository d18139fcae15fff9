"""`apprentice import lark CHAT_ID…`: a Lark/Feishu chat's history through the message list API.

Only chats an admin observes now are read at all (an unobserved chat costs no API call);
pages come oldest first from the start of the retention period, each turned into the same
Event a live message becomes and decided by the ConsentGate (observed chat + history
consent). Rate limits (HTTP 429, code 99991400 and Lark's other frequency codes) are waited
out with backoff; an import stopped halfway can simply be run again.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from rich.console import Console
from rich.progress import TaskID

from adapters.base import SendError
from adapters.lark.normalize import PLATFORM, READABLE_TYPES, message_event
from bot.events import Event
from bot.imports.report import print_summary, progress_bar
from bot.imports.runner import COMMAND, import_session
from bot.settings import Settings

log = structlog.get_logger(__name__)

PAGE_SIZE = 50  # the largest page Lark serves
MAX_ATTEMPTS = 8  # per page, before giving up on a rate limit that does not lift
MAX_WAIT_SECONDS = 60.0
FROM_A_BOT = "from_a_bot"
NOT_TEXT = "not_text"
DELETED = "deleted"


class HistoryError(Exception):
    """The import cannot go on; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class ObservedChat:
    chat_id: str
    name: str
    tenant_key: str


Sleep = Callable[[float], Awaitable[None]]


async def import_chats(
    settings: Settings,
    chat_ids: list[str],
    console: Console,
    *,
    sleep: Sleep = asyncio.sleep,
    backoff: float = 1.0,
) -> Counter[str]:
    """Import the history of these chats (those observed); returns counts by outcome."""
    from adapters.lark.api import LarkApi  # noqa: PLC0415 - lark_oapi takes seconds to import
    from adapters.lark.config import LarkConfig, LarkConfigError  # noqa: PLC0415

    try:
        config = LarkConfig.from_settings(settings)
    except LarkConfigError as exc:
        raise HistoryError(str(exc)) from None
    api = LarkApi(config)
    counts: Counter[str] = Counter()
    async with import_session(settings) as importer:
        chats, unobserved = await observed_chats(chat_ids)
        bot_open_id = await _retrying(api.bot_open_id, sleep, backoff) if chats else None
        since = int(time.time()) - settings.retention_days * 86400
        with progress_bar(console, "messages") as progress:
            for chat in chats:
                task = progress.add_task(f"{chat.name or chat.chat_id}", total=None)
                read = 0

                def advance(n: int, task: TaskID = task) -> None:
                    nonlocal read
                    read += n
                    progress.advance(task, n)

                pages = _pages(api, chat.chat_id, since, sleep, backoff)
                await importer.run(_events(pages, chat, bot_open_id, counts), counts, advance)
                progress.update(task, total=read)
    notes = []
    if unobserved:
        notes.append(
            f"Chats not observed, so not read: {unobserved}. An admin types /skill admin "
            "observe in the chat first."
        )
    print_summary(console, "Lark chat history → Apprentice", counts, notes)
    return counts


def run_import(settings: Settings, chat_ids: list[str], console: Console) -> None:
    """The CLI entry point: exit 2 with advice when Lark cannot be read."""
    try:
        asyncio.run(import_chats(settings, chat_ids, console))
    except HistoryError as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        raise SystemExit(2) from None


async def observed_chats(chat_ids: list[str]) -> tuple[list[ObservedChat], int]:
    """The chats among these that are observed now, and how many are not."""
    from bot.storage.models import Channel  # noqa: PLC0415

    chats: list[ObservedChat] = []
    unobserved = 0
    for chat_id in dict.fromkeys(chat_ids):
        channel = (
            await Channel.filter(channel_id=chat_id, observed=True, tenant__platform=PLATFORM)
            .prefetch_related("tenant")
            .first()
        )
        if channel is None:
            unobserved += 1
        else:
            chats.append(ObservedChat(chat_id, channel.name, channel.tenant.external_id))
    return chats, unobserved


async def _pages(
    api: Any, chat_id: str, since: int, sleep: Sleep, backoff: float
) -> AsyncIterator[list[Any]]:
    token = ""
    while True:

        async def one_page(token: str = token) -> Any:
            return await api.list_messages(chat_id, since, token, PAGE_SIZE)

        page = await _retrying(one_page, sleep, backoff)
        yield list(page.items or ())
        if not page.has_more or not page.page_token:
            return
        token = page.page_token


async def _retrying(call: Callable[[], Awaitable[Any]], sleep: Sleep, backoff: float) -> Any:
    """Call, waiting out rate limits and busy answers: Lark's reset time, else doubling."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return await call()
        except SendError as exc:
            if exc.retry_after is None:
                raise HistoryError(
                    f"Lark refused to read the chat history ({exc}). The app needs the scope "
                    "to read group messages (im:message.group_msg or im:message:readonly) and "
                    "must be in the chat; what was imported so far stays imported."
                ) from None
            if attempt == MAX_ATTEMPTS:
                break
            wait = min(max(exc.retry_after, backoff * 2 ** (attempt - 1)), MAX_WAIT_SECONDS)
            log.info("lark.history_rate_limited", attempt=attempt, wait=round(wait, 2))
            await sleep(wait)
    raise HistoryError(
        "Lark kept answering 'too many requests'. Run the import again later: messages "
        "imported so far are kept and are not imported twice."
    )


async def _events(
    pages: AsyncIterator[list[Any]],
    chat: ObservedChat,
    bot_open_id: str | None,
    counts: Counter[str],
) -> AsyncIterator[Event]:
    async for items in pages:
        for item in items:
            event = history_event(item, chat, bot_open_id, counts)
            if event is not None:
                yield event


def history_event(
    item: Any, chat: ObservedChat, bot_open_id: str | None, counts: Counter[str]
) -> Event | None:
    """One list-API message → the Event a live one becomes; None (counted) when never read."""
    sender = item.sender
    if item.deleted:
        counts[DELETED] += 1
        return None
    if sender is None or sender.sender_type != "user" or not sender.id:
        counts[FROM_A_BOT] += 1
        return None
    if item.msg_type not in READABLE_TYPES:
        counts[NOT_TEXT] += 1
        return None
    mentions = list(item.mentions or ())
    if bot_open_id and any(m.id == bot_open_id for m in mentions):
        counts[COMMAND] += 1  # addressed to the bot: a command, never an observation
        return None
    event = message_event(
        {
            "header": {
                "event_id": f"history:{item.message_id}",
                "tenant_key": chat.tenant_key,
                "create_time": str(item.create_time or ""),
            },
            "event": {
                "sender": {
                    "sender_id": {"open_id": sender.id},
                    "sender_type": "user",
                    "tenant_key": chat.tenant_key,
                },
                "message": {
                    "message_id": item.message_id,
                    "root_id": item.root_id or "",
                    "parent_id": item.parent_id or "",
                    "thread_id": item.thread_id or "",
                    "create_time": str(item.create_time or ""),
                    "chat_id": chat.chat_id,
                    "chat_type": "group",  # only observed chats are read: never a p2p chat
                    "message_type": item.msg_type,
                    "content": item.body.content if item.body else "",
                    "mentions": [
                        {"key": m.key, "id": {"open_id": m.id}, "name": m.name} for m in mentions
                    ],
                },
            },
        },
        bot_open_id,
    )
    if event is None:
        counts[NOT_TEXT] += 1
    return event
