"""How fast a Slack export imports, and how little importing it again costs.

A workspace export with BENCH_MESSAGES messages (default 20,000) from 60 people in four
channels (three observed): 40 agreed to observation and history import, 10 to observation
only, 10 to nothing; varied English and Chinese text, one in ten with personal data, one in
twenty a bot or a join message. Printed beside baselines measured in the same run:
parsing the export alone (read the zip, normalize every message, no gate, no storage) and
redact + encrypt alone (the ceiling the import can reach). Then: the first import, a
re-import with nothing new (target < 5% of the first) and a re-import after a consent
change (every day file read again; stored messages skipped by id without decrypting).
Each run checks the stored rows against what the consents allow.

Run: .venv/bin/python bench/import_bench.py
     BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres adds a PostgreSQL run.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import sys
import tempfile
import time
import uuid
import zipfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402

from adapters.slack.export import _events_of_day, import_export, open_export  # noqa: E402
from bot.consent.ledger import ConsentLedger, Mechanism  # noqa: E402
from bot.consent.notices import Purpose, Terms, notice  # noqa: E402
from bot.events import Actor  # noqa: E402
from bot.logging import configure  # noqa: E402
from bot.people import People  # noqa: E402
from bot.redact import redact  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.storage.database import close_database, open_database  # noqa: E402
from bot.storage.models import Channel, Observation, Tenant  # noqa: E402
from bot.storage.vault import Vault, load_master_key  # noqa: E402

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "20000"))
TEAM = "T0BENCH"
CHANNELS = {"C0ENG": "eng", "C0OPS": "ops", "C0DATA": "data", "C0RANDOM": "random"}
OBSERVED = ("C0ENG", "C0OPS", "C0DATA")
PEOPLE = [f"U{i:04d}" for i in range(60)]
HISTORY, OBSERVE_ONLY = PEOPLE[:40], PEOPLE[40:50]
DAYS = 60
WORDS = [
    "invoice",
    "export",
    "retry",
    "deploy",
    "rollback",
    "latency",
    "dashboard",
    "migration",
    "schema",
    "review",
    "ticket",
    "release",
    "staging",
    "canary",
    "budget",
    "vendor",
    "contract",
    "backlog",
    "sprint",
    "incident",
    "alert",
    "pager",
    "quota",
    "report",
    "metric",
    "churn",
    "funnel",
    "cohort",
    "pipeline",
    "cache",
    "index",
]
ZH = [
    "周报",
    "发布",
    "回滚",
    "延迟",
    "看板",
    "迁移",
    "评审",
    "工单",
    "预算",
    "供应商",
    "合同",
    "迭代",
    "故障",
    "告警",
    "指标",
    "漏斗",
]
PII = ("call me on 13812345678", "mail ops@example.com", "from 10.2.3.4", "card 4111111111111111")


def text_of(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(6, 28))
    if rng.random() < 0.3:
        words += rng.choices(ZH, k=rng.randint(2, 8))
    if rng.random() < 0.1:
        words.insert(rng.randrange(len(words)), rng.choice(PII))
    return " ".join(words).capitalize() + rng.choice((".", "?", "!", ""))


def write_export(path: Path) -> int:
    """The export zip; returns how many messages the consents allow to be stored."""
    rng = random.Random(48)
    start = datetime.now(UTC) - timedelta(days=DAYS)
    days: dict[tuple[str, int], list[dict[str, Any]]] = {}
    allowed = 0
    for n in range(MESSAGES):
        channel = rng.choice(list(CHANNELS))
        day = rng.randrange(DAYS)
        when = start + timedelta(days=day, seconds=rng.randrange(86400))
        stamp = f"{int(when.timestamp())}.{n:06d}"  # unique, as Slack makes them
        user = rng.choice(PEOPLE)
        message: dict[str, Any] = {"type": "message", "user": user, "ts": stamp, "team": TEAM}
        roll = rng.random()
        if roll < 0.03:
            message.update(subtype="bot_message", bot_id="B0CI", text="build passed")
            message.pop("user")
        elif roll < 0.05:
            message.update(subtype="channel_join", text=f"<@{user}> has joined")
        else:
            message.update(
                text=text_of(rng), client_msg_id=str(uuid.UUID(int=rng.getrandbits(128)))
            )
            allowed += user in HISTORY and channel in OBSERVED
        days.setdefault((channel, day), []).append(message)
    users = [
        {"id": u, "name": u.lower(), "team_id": TEAM, "is_bot": False, "profile": {}}
        for u in PEOPLE
    ]
    channels = [{"id": c, "name": name} for c, name in CHANNELS.items()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("users.json", json.dumps(users))
        archive.writestr("channels.json", json.dumps(channels))
        for (channel, day), messages in sorted(days.items()):
            date = (start + timedelta(days=day)).strftime("%Y-%m-%d")
            archive.writestr(f"{CHANNELS[channel]}/{date}.json", json.dumps(messages))
    return allowed


async def consent(settings: Settings) -> None:
    """Observe three channels; 40 people agree to history, 10 only to observation."""
    vault = Vault(load_master_key(settings))
    await open_database(settings)
    try:
        tenant = await Tenant.create(platform="slack", external_id=TEAM)
        for channel_id in OBSERVED:
            await Channel.create(
                tenant=tenant, channel_id=channel_id, name=CHANNELS[channel_id], observed=True
            )
        ledger, people = ConsentLedger(Terms.of(settings)), People(vault)
        for user in HISTORY + OBSERVE_ONLY:
            await people.ensure(tenant, Actor(user))
            purposes = [Purpose.OBSERVE] + ([Purpose.BACKFILL] if user in HISTORY else [])
            for purpose in purposes:
                shown = notice(purpose, "en", retention_days=settings.retention_days)
                await ledger.grant(tenant, user, shown, Mechanism("bench", "setup"))
    finally:
        await close_database()


async def change_consent(settings: Settings) -> None:
    """Someone who had said nothing agrees to observation only: nothing new to import."""
    await open_database(settings)
    try:
        tenant = await Tenant.get(platform="slack", external_id=TEAM)
        shown = notice(Purpose.OBSERVE, "en", retention_days=settings.retention_days)
        await ConsentLedger(Terms.of(settings)).grant(
            tenant, PEOPLE[-1], shown, Mechanism("bench", "change")
        )
    finally:
        await close_database()


async def stored_rows(settings: Settings) -> int:
    await open_database(settings)
    try:
        return await Observation.all().count()
    finally:
        await close_database()


def parse_alone(path: Path) -> tuple[int, float]:
    """Read the zip and normalize every message: the floor of any import of it."""
    started = time.perf_counter()
    export = open_export(path)
    skipped: Counter[str] = Counter()
    events = 0
    with export.archive:
        for channel in export.channels:
            for name in export.day_files(channel):
                events += sum(1 for _ in _events_of_day(export, TEAM, channel, name, skipped))
    return events + sum(skipped.values()), time.perf_counter() - started


def redact_and_encrypt(path: Path) -> float:
    """Redact and seal every message's text: what storing costs at the least (seconds)."""
    export = open_export(path)
    with export.archive:
        texts = [
            event.text
            for channel in export.channels
            for name in export.day_files(channel)
            for event in _events_of_day(export, TEAM, channel, name, Counter())
        ]
    vault = Vault(os.urandom(32))
    key = os.urandom(32)
    started = time.perf_counter()
    for i, text in enumerate(texts):
        vault.encrypt(key, redact(text), f"obs|1|{i}")
    return time.perf_counter() - started


async def timed_import(settings: Settings, path: Path) -> tuple[Counter[str], float]:
    console = Console(file=io.StringIO(), width=120)
    started = time.perf_counter()
    counts = await import_export(settings, path, console)
    return counts, time.perf_counter() - started


async def run(settings: Settings, path: Path, allowed: int, label: str) -> None:
    await consent(settings)
    first, first_s = await timed_import(settings, path)
    again, again_s = await timed_import(settings, path)
    await change_consent(settings)
    reread, reread_s = await timed_import(settings, path)
    rows = await stored_rows(settings)
    ok = first["stored"] == allowed == rows and not again["stored"] and not reread["stored"]
    print(f"-- {label}")
    print(f"first import                  : {MESSAGES / first_s:10.0f} msg/s ({first_s:.2f} s)")
    print(
        f"re-import, nothing new        : {again_s:10.3f} s  "
        f"({again_s / first_s:.1%} of the first; target < 5%)"
    )
    print(
        f"re-import after a consent change: {reread_s:8.3f} s  "
        f"({reread_s / first_s:.1%} of the first; {reread['already_stored']} skipped by id)"
    )
    print(
        f"stored rows                   : {rows} (consents allow {allowed}) "
        f"{'OK' if ok else 'MISMATCH'}"
    )
    if not ok:
        print(f"   counts: first={dict(first)} again={dict(again)} reread={dict(reread)}")
        raise SystemExit(1)


async def main() -> None:
    configure("WARNING")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "export.zip"
        allowed = write_export(path)
        read, parse_s = parse_alone(path)
        seal_s = redact_and_encrypt(path)
        print(f"messages in the export        : {read} ({MESSAGES} written; {allowed} allowed)")
        print(f"baseline: parsing alone       : {MESSAGES / parse_s:10.0f} msg/s")
        print(f"baseline: redact + encrypt    : {MESSAGES / seal_s:10.0f} msg/s (the ceiling)")
        sqlite = Settings(data_dir=root / "sqlite", demo=False, web_port=0)
        await run(sqlite, path, allowed, "SQLite (WAL, synchronous=NORMAL)")
        postgres = os.environ.get("BENCH_POSTGRES_URL")
        if postgres:
            await run_postgres(postgres, root, path, allowed)


async def run_postgres(url: str, root: Path, path: Path, allowed: int) -> None:
    import asyncpg  # noqa: PLC0415
    from tortoise.backends.base.executor import EXECUTOR_CACHE  # noqa: PLC0415

    # tortoise caches INSERT statements by connection name, not dialect: after the SQLite
    # run the same process needs PostgreSQL's.
    EXECUTOR_CACHE.clear()
    name = f"apprentice_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = url.rsplit("/", 1)[0]
        settings = Settings(
            data_dir=root / "pg", database_url=f"{base}/{name}", demo=False, web_port=0
        )
        await run(settings, path, allowed, "PostgreSQL (asyncpg)")
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
