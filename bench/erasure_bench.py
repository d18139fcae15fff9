"""Forgetting one person among 1,000,000 stored observations (BENCH_ROWS).

Builds the table fast with batched inserts (1,000 people, 1,000 rows each by default; the
one forgotten holds BENCH_THEIRS = 20,000), then times `erase_person` (the command's part:
withdraw, destroy the key, unlink the user id) and, separately, the background deletion of
their rows in bounded batches. Beside it, in the same run: reading one person's rows by the
index, and the same count done by a full scan, for scale. Checks the outcome: the person's
key is gone when the command returns, all their rows after the background part, everyone
else's rows untouched.

Run: .venv/bin/python bench/erasure_bench.py   (PostgreSQL too: BENCH_POSTGRES_URL=…)
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.consent.erasure import Eraser, erase_person  # noqa: E402
from bot.consent.ledger import ALL_CHANNELS, ConsentLedger, Mechanism  # noqa: E402
from bot.consent.notices import Purpose, Terms, notice  # noqa: E402
from bot.directory import Directory  # noqa: E402
from bot.logging import configure  # noqa: E402
from bot.observations import ObservationStore  # noqa: E402
from bot.people import key_ref  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.storage.database import close_database, open_database  # noqa: E402
from bot.storage.models import Observation, Person  # noqa: E402
from bot.storage.vault import Vault  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
THEIRS = int(os.environ.get("BENCH_THEIRS", "20000"))
PEOPLE = 1000
BATCH = 5000
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL")


async def build(vault: Vault) -> tuple[Person, float]:
    """People, one observed channel and ROWS observations, inserted in batches."""
    directory = Directory()
    tenant = await directory.tenant("console", "local")
    channel, _ = await directory.observe(tenant, "team", "team", "admin")
    ledger = ConsentLedger(Terms(retention_days=90))
    people = []
    for i in range(PEOPLE):
        person_id = uuid.uuid4()
        people.append(
            Person(
                id=person_id,
                tenant=tenant,
                user_id=f"user{i}",
                wrapped_key=vault.new_wrapped_key(key_ref(tenant.id, person_id)),
            )
        )
    await Person.bulk_create(people, batch_size=500)
    target = people[0]
    await ledger.grant(
        tenant,
        target.user_id,
        notice(Purpose.OBSERVE, "en", retention_days=90),
        Mechanism("bench", "e-0"),
        [ALL_CHANNELS],
    )
    db = Observation._meta.db
    dialect = db.capabilities.dialect
    width = 9
    marks = (
        ", ".join(["?"] * width)
        if dialect == "sqlite"
        else ", ".join(f"${i}" for i in range(1, width + 1))
    )
    sql = (
        'INSERT INTO "observations" ("id", "tenant_id", "person_id", "channel_id", '
        '"message_id", "thread_id", "occurred_at", "ciphertext", "created_at") '
        f"VALUES ({marks})"
    )
    now = datetime.now(UTC)
    blob = os.urandom(160)  # the bench times deleting, not encrypting
    others = ROWS - THEIRS
    start = time.perf_counter()
    n = 0
    while n < ROWS:
        rows = []
        for k in range(n, min(ROWS, n + BATCH)):
            owner = (
                target
                if k % (ROWS // THEIRS) == 0 and k // (ROWS // THEIRS) < THEIRS
                else (people[1 + k % (PEOPLE - 1)])
            )
            rows.append(
                [
                    str(uuid.uuid4()),
                    tenant.id,
                    str(owner.id),
                    channel.id,
                    f"m{k}",
                    None,
                    now - timedelta(seconds=k),
                    blob,
                    now,
                ]
            )
        await db.execute_many(sql, rows)
        n += BATCH
    built = ROWS / (time.perf_counter() - start)
    assert others >= 0
    return target, built


async def run(settings: Settings, label: str) -> None:
    vault = Vault(os.urandom(32))
    await open_database(settings)
    try:
        target, built = await build(vault)
        theirs = await Observation.filter(person_id=target.id).count()
        total = await Observation.all().count()
        start = time.perf_counter()
        rows = await Observation.filter(person_id=target.id).values_list("id", "ciphertext")
        read_s = time.perf_counter() - start
        db = Observation._meta.db
        sqlite = db.capabilities.dialect == "sqlite"
        mark = "?" if sqlite else "$1"
        by_index = f"SELECT count(*) FROM observations WHERE person_id = {mark}"
        by_scan = (  # the same count without the index: what every erasure did before 0005
            "SELECT count(*) FROM observations NOT INDEXED WHERE person_id = ?"
            if sqlite
            else "SELECT count(*) FROM observations WHERE person_id::text || '' = $1"
        )
        start = time.perf_counter()
        await db.execute_query(by_index, [str(target.id)])
        count_s = time.perf_counter() - start
        start = time.perf_counter()
        await db.execute_query(by_scan, [str(target.id)])
        scan_s = time.perf_counter() - start
        store = ObservationStore(vault)
        tenant = await Directory().tenant("console", "local")
        start = time.perf_counter()
        receipt = await erase_person(
            tenant,
            target.user_id,
            ledger=ConsentLedger(Terms(retention_days=90)),
            observations=store,
            mechanism=Mechanism("command:forget", "e-1"),
        )
        unreadable_s = time.perf_counter() - start
        after = await Person.get(id=target.id)
        start = time.perf_counter()
        deleted = await Eraser(store, batch=BATCH).finish_all()
        finish_s = time.perf_counter() - start
        left = await Observation.all().count()
        problems = []
        if after.wrapped_key != b"":
            problems.append("the key was still there when the command returned")
        if deleted != theirs or await Person.exists(id=target.id):
            problems.append(f"deleted {deleted} of {theirs} rows")
        if left != total - theirs:
            problems.append(f"{total - theirs - left} other rows went missing")
        verdict = "ok" if not problems else "FAILED: " + "; ".join(problems)
        print(
            f"{label}: {total} observations built at {built:,.0f} rows/s; the person has {theirs}"
        )
        print(
            f"  read one person's rows by the index         : {read_s * 1000:8.1f} ms "
            f"({len(rows)} rows)"
        )
        print(f"  count one person's rows by the index        : {count_s * 1000:8.1f} ms")
        print(f"  the same count by a full scan (baseline)    : {scan_s * 1000:8.1f} ms")
        print(
            f"  forget: key destroyed, unreadable           : {unreadable_s * 1000:8.1f} ms "
            f"(receipt says {receipt.observations_deleted} messages)"
        )
        print(
            f"  background deletion, {BATCH}/statement       : {finish_s * 1000:8.1f} ms "
            f"({deleted / finish_s:,.0f} rows/s)  [{verdict}]"
        )
    finally:
        await close_database()


async def main() -> None:
    configure("WARNING")
    with tempfile.TemporaryDirectory() as tmp:
        await run(Settings(data_dir=Path(tmp), demo=False), "SQLite")
    if POSTGRES_URL:
        import asyncpg  # noqa: PLC0415
        from tortoise.backends.base.executor import EXECUTOR_CACHE  # noqa: PLC0415

        EXECUTOR_CACHE.clear()  # tortoise keys its INSERT SQL by connection name, not dialect

        name = f"apprentice_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(POSTGRES_URL.replace("postgres://", "postgresql://", 1))
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            with tempfile.TemporaryDirectory() as tmp:
                url = f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
                await run(Settings(data_dir=Path(tmp), demo=False, database_url=url), "PostgreSQL")
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
