"""Live ingest: normalize → bus → gate → redact → encrypt → store, with realistic traffic.

20,000 messages (BENCH_MESSAGES) in one observed channel from 50 consenting authors and 15
who never opted in, interleaved; varied text, about a fifth carrying personal data (e-mail,
phone numbers, a Chinese mobile, an IP, a card number). Each figure is printed beside two
baselines measured in the same run on the same machine:
- the ceiling: redaction + AES-GCM of the consenting authors' texts alone (no bus, no
  database), one core;
- a raw batched insert of rows of the same shape (executemany, 500 rows per transaction).
Then it checks the outcome: stored rows = consented messages, none from anyone else, and
what was stored decrypts to the redacted text. Beside the wall-clock rates it prints the CPU
time per consented message against the ceiling's: on a machine shared with other work the
rates swing with the load, the CPU cost does not.

Run: .venv/bin/python bench/pipeline_bench.py
PostgreSQL too: BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres (a scratch
database is created and dropped).
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.console.normalize import Click, PostedMessage, message_event  # noqa: E402
from bot.app import Application  # noqa: E402
from bot.logging import configure  # noqa: E402
from bot.observations import observation_aad  # noqa: E402
from bot.people import key_ref  # noqa: E402
from bot.redact import redact  # noqa: E402
from bot.redaction_pool import spare_cores  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.storage.models import Observation, Person  # noqa: E402
from bot.storage.vault import Vault  # noqa: E402

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "20000"))
CONSENTING = 50
OTHERS = 15
SHARE_OF_OTHERS = 0.2  # of the traffic
SHARE_WITH_PII = 0.2
BATCH = 500
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL")
# CPU seconds per consented message: on a machine shared with other work, wall-clock rates
# swing with the load; CPU time shows what the pipeline itself costs.
CPU: dict[str, float] = {}

PROSE = (
    "deploy rollback invoice checkout latency review migration schema queue worker retry "
    "cache index report weekly sprint blocker standup customer ticket release hotfix "
    "dashboard alert oncall budget roadmap design spec test flaky build pipeline vendor "
    "contract 发布 回滚 接口 延迟 评审 周报 需求 测试 上线 监控 告警 数据库"
)
WORDS = PROSE.split()
PII = (
    "mail me at {n}.lee@example.com",
    "call 13812{n:06d}",
    "ring +1 415 555 {m:04d}",
    "host 10.{a}.{b}.7 is down",
    "card 4111 1111 1111 1111 for the vendor",
    "token ghp_{n:036d}",
)


def text_for(rng: random.Random, n: int) -> str:
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))
    if rng.random() < SHARE_WITH_PII:
        pii = rng.choice(PII).format(n=n, m=n % 10_000, a=n % 250, b=(n // 250) % 250)
        return f"{words} — {pii}, thanks"
    return f"{words} #{n}"


def traffic(seed: int = 7) -> list[tuple[str, str, str]]:
    """(author, text, message id), consenting authors and others interleaved."""
    rng = random.Random(seed)
    out = []
    for n in range(MESSAGES):
        if rng.random() < SHARE_OF_OTHERS:
            author = f"other{rng.randrange(OTHERS)}"
            text = f"never-kept-{n}-zqx {text_for(rng, n)}"
        else:
            author = f"user{rng.randrange(CONSENTING)}"
            text = text_for(rng, n)
        out.append((author, text, f"m{n}"))
    return out


def ceiling(messages: list[tuple[str, str, str]]) -> float:
    """Redaction + AES-GCM alone: what the hot path cannot beat on one core."""
    vault = Vault(os.urandom(32))
    keys = {a: vault.unwrap(vault.new_wrapped_key(a), a) for a, _, _ in messages}
    start, cpu = time.perf_counter(), time.process_time()
    for author, text, message_id in messages:
        vault.encrypt(keys[author], redact(text), f"obs|1|{author}|{message_id}")
    CPU["ceiling"] = (time.process_time() - cpu) / len(messages)
    return len(messages) / (time.perf_counter() - start)


def raw_rows(count: int) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC)
    return [(str(uuid.uuid4()), 1, f"m{i}", now, os.urandom(180), now) for i in range(count)]


async def raw_insert_sqlite(path: Path, count: int) -> float:
    async with aiosqlite.connect(path) as db:
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute(
            "CREATE TABLE t (id TEXT PRIMARY KEY, tenant_id INT, message_id TEXT, "
            "occurred_at TEXT, body BLOB, created_at TEXT, UNIQUE (tenant_id, message_id))"
        )
        rows = raw_rows(count)
        start = time.perf_counter()
        for i in range(0, count, BATCH):
            await db.execute("BEGIN")
            await db.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", rows[i : i + BATCH])
            await db.commit()
        return count / (time.perf_counter() - start)


async def raw_insert_postgres(url: str, count: int) -> float:
    import asyncpg  # noqa: PLC0415

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "CREATE TABLE t (id UUID PRIMARY KEY, tenant_id INT, message_id TEXT, "
            "occurred_at TIMESTAMPTZ, body BYTEA, created_at TIMESTAMPTZ, "
            "UNIQUE (tenant_id, message_id))"
        )
        rows = raw_rows(count)
        start = time.perf_counter()
        for i in range(0, count, BATCH):
            async with connection.transaction():
                await connection.executemany(
                    "INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6)", rows[i : i + BATCH]
                )
        return count / (time.perf_counter() - start)
    finally:
        await connection.close()


async def consent(app: Application) -> None:
    assert app.console is not None
    await app.console.post(PostedMessage("admin", "team", "/skill admin observe #team"))
    for i in range(CONSENTING):
        user = f"user{i}"
        replies = await app.console.post(PostedMessage(user, f"dm:{user}", "/skill optin"))
        agree = next(b for r in replies for b in r.buttons if b["label"] == "Agree")
        await app.console.click(Click(user, agree["action_id"], agree["value"]))


async def live(settings: Settings, messages: list[tuple[str, str, str]]) -> tuple[float, str]:
    app = Application(settings)
    await app.start(serve_web=False)
    try:
        assert app.bus is not None
        await consent(app)
        # Every non-consenting author was asked once already (their first message).
        for i in range(OTHERS):
            await (await app.bus.publish(_event(f"other{i}", "hello", f"hello-{i}")))
        start, cpu = time.perf_counter(), time.process_time()
        deliveries = [
            await app.bus.publish(_event(author, text, message_id))
            for author, text, message_id in messages
        ]
        outcomes = [await delivery for delivery in deliveries]  # no task per delivery
        rate = len(messages) / (time.perf_counter() - start)
        CPU["live"] = (time.process_time() - cpu) / sum(1 for m in messages if m[0][0] == "u")
        return rate, await check(app, messages, outcomes)
    finally:
        await app.stop()


def _event(author: str, text: str, message_id: str):  # noqa: ANN202 - the console's Event
    return message_event(PostedMessage(author, "team", text), uuid.uuid4().hex, message_id)


async def check(app: Application, messages: list[tuple[str, str, str]], outcomes: list) -> str:
    """The outcome, checked: every consented message stored once, no one else's."""
    consented = [m for m in messages if m[0].startswith("user")]
    stored = await Observation.all().count()
    others = await Person.filter(user_id__startswith="other").count()
    problems = []
    if stored != len(consented):
        problems.append(f"stored {stored} rows for {len(consented)} consented messages")
    if others:
        problems.append(f"{others} non-consenting authors have a row")
    if outcomes.count("stored") != len(consented):
        problems.append(f"{outcomes.count('stored')} 'stored' outcomes")
    assert app.services is not None
    vault, by_id = app.services.vault, {m[2]: m for m in consented}
    for row in await Observation.all().limit(200).prefetch_related("person"):
        person = row.person
        key = vault.unwrap(person.wrapped_key, key_ref(person.tenant_id, person.id))
        text = vault.decrypt(
            key, row.ciphertext, observation_aad(person.tenant_id, person.id, row.id)
        )
        author, original, _ = by_id[row.message_id]
        if person.user_id != author or text != redact(original):
            problems.append(f"row {row.message_id} does not hold its author's redacted text")
            break
    return "ok" if not problems else "FAILED: " + "; ".join(problems)


async def scratch_postgres(url: str) -> tuple[str, Any]:
    import asyncpg  # noqa: PLC0415

    name = f"apprentice_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    await admin.execute(f'CREATE DATABASE "{name}"')
    return f"{url.rsplit('/', 1)[0]}/{name}", (admin, name)


async def drop_postgres(handle: Any) -> None:
    admin, name = handle
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


def cpu_line() -> str:
    pool = spare_cores()
    return (
        f"  CPU per consented message: {CPU['live'] * 1e6:.0f} µs in this process "
        f"(ceiling {CPU['ceiling'] * 1e6:.0f} µs: {CPU['ceiling'] / CPU['live']:.2f}x)"
        + (f"; redaction ran in {pool} worker process(es), not counted" if pool else "")
    )


async def main() -> None:
    configure("WARNING")
    messages = traffic()
    consented = [m for m in messages if m[0].startswith("user")]
    top = ceiling(consented)
    print(
        f"messages: {len(messages)} ({len(consented)} from {CONSENTING} consenting authors, "
        f"{len(messages) - len(consented)} from {OTHERS} others); ~{SHARE_WITH_PII:.0%} with PII"
    )
    print(f"ceiling, redact + AES-GCM alone (one core)   : {top:9.0f} msg/s")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        raw = await raw_insert_sqlite(root / "raw.db", len(consented))
        rate, verdict = await live(
            Settings(data_dir=root / "live", demo=False, web_port=0), messages
        )
        print(f"SQLite raw batched insert ({BATCH}/transaction) : {raw:9.0f} rows/s")
        print(
            f"SQLite live ingest                          : {rate:9.0f} msg/s "
            f"= {rate / top:.2f}x the ceiling  [{verdict}]"
        )
        print(cpu_line())
        if POSTGRES_URL:
            from tortoise.backends.base.executor import EXECUTOR_CACHE  # noqa: PLC0415

            EXECUTOR_CACHE.clear()  # tortoise keys its INSERT SQL by connection name, not dialect
            url, handle = await scratch_postgres(POSTGRES_URL)
            try:
                raw = await raw_insert_postgres(url, len(consented))
            finally:
                await drop_postgres(handle)
            url, handle = await scratch_postgres(POSTGRES_URL)
            try:
                settings = Settings(data_dir=root / "pg", demo=False, web_port=0, database_url=url)
                rate, verdict = await live(settings, messages)
            finally:
                await drop_postgres(handle)
            print(f"PostgreSQL raw batched insert (executemany) : {raw:9.0f} rows/s")
            print(
                f"PostgreSQL live ingest                      : {rate:9.0f} msg/s "
                f"= {rate / top:.2f}x the ceiling  [{verdict}]"
            )
            print(cpu_line())
        else:
            print("PostgreSQL: set BENCH_POSTGRES_URL to measure it too")


if __name__ == "__main__":
    asyncio.run(main())
