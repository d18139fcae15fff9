"""How fast observed messages go through bus → gate → redact → encrypt → SQLite.

Prints messages/s for consenting authors (stored) and non-consenting ones (dropped at the
gate), beside a baseline measured in the same run on the same machine: plain aiosqlite
inserts of the same number of rows, one transaction each (what each observation costs at
the least) and batched (the floor of the file itself). Run: .venv/bin/python bench/pipeline_bench.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiosqlite

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.console.normalize import Click, PostedMessage, message_event  # noqa: E402
from bot.app import Application  # noqa: E402
from bot.logging import configure  # noqa: E402
from bot.settings import Settings  # noqa: E402

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "2000"))
SYNC = "NORMAL"  # as bot/storage/database.py sets it
TEXT = "Fixed the rounding bug in invoice totals, call me at 13812345678 or a@b.io if it recurs"


async def baseline(path: Path, batched: bool) -> float:
    async with aiosqlite.connect(path) as db:
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute(f"PRAGMA synchronous={SYNC}")
        await db.execute("CREATE TABLE t (id TEXT PRIMARY KEY, body BLOB)")
        rows = [(uuid.uuid4().hex, os.urandom(140)) for _ in range(MESSAGES)]
        start = time.perf_counter()
        if batched:
            await db.executemany("INSERT INTO t VALUES (?, ?)", rows)
            await db.commit()
        else:
            for row in rows:
                await db.execute("INSERT INTO t VALUES (?, ?)", row)
                await db.commit()
        return MESSAGES / (time.perf_counter() - start)


async def through_the_bot(data_dir: Path, consenting: bool) -> float:
    app = Application(Settings(data_dir=data_dir, demo=False, web_port=0))
    await app.start(serve_web=False)
    assert app.console is not None and app.bus is not None
    await app.console.post(PostedMessage("admin", "team", "/skill admin observe #team"))
    if consenting:
        replies = await app.console.post(PostedMessage("alice", "dm:alice", "/skill optin"))
        agree = next(b for r in replies for b in r.buttons if b["label"] == "Agree")
        await app.console.click(Click("alice", agree["action_id"], agree["value"]))
    author = "alice" if consenting else "carol"
    events = [
        message_event(PostedMessage(author, "team", TEXT), uuid.uuid4().hex, f"m{i}")
        for i in range(MESSAGES)
    ]
    start = time.perf_counter()
    deliveries = [await app.bus.publish(event) for event in events]
    await asyncio.gather(*deliveries)
    rate = MESSAGES / (time.perf_counter() - start)
    await app.stop()
    return rate


async def main() -> None:
    configure("WARNING")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        one_by_one = await baseline(root / "a.db", batched=False)
        batched = await baseline(root / "b.db", batched=True)
        stored = await through_the_bot(root / "stored", consenting=True)
        dropped = await through_the_bot(root / "dropped", consenting=False)
    print(f"messages per run: {MESSAGES}")
    print(f"SQLite: WAL, synchronous={SYNC}")
    print(f"baseline aiosqlite insert, one commit each : {one_by_one:10.0f} rows/s")
    print(f"baseline aiosqlite insert, one batch       : {batched:10.0f} rows/s")
    print(
        f"consenting author, stored                  : {stored:10.0f} msg/s "
        f"({stored / one_by_one:.2f}x one-commit baseline)"
    )
    print(
        f"non-consenting author, dropped at the gate : {dropped:10.0f} msg/s "
        f"({dropped / one_by_one:.2f}x one-commit baseline)"
    )


if __name__ == "__main__":
    asyncio.run(main())
