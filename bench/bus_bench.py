"""Events/s through the in-process bus and the Redis Streams bus, same work, same run.

2,000 console messages of one consenting author in an observed channel (each is gated,
redacted, encrypted and stored in SQLite), published one after another and awaited
together, through each backend; printed with the ratio to the in-process bus. One author
means one shard: both backends keep a person's events in order, so this is the
per-person rate. Run: .venv/bin/python bench/bus_bench.py
(BENCH_REDIS_URL, default redis://127.0.0.1:6379/15; its keys are removed afterwards.)
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis import asyncio as aioredis  # noqa: E402

import bot.bus_redis  # noqa: E402
from adapters.console.normalize import Click, PostedMessage, message_event  # noqa: E402
from bot.app import Application  # noqa: E402
from bot.logging import configure  # noqa: E402
from bot.settings import Settings  # noqa: E402

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "2000"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
TEXT = "Fixed the rounding bug in invoice totals, call me at 13812345678 or a@b.io if it recurs"


async def through(data_dir: Path, **settings: Any) -> float:
    app = Application(Settings(data_dir=data_dir, demo=False, web_port=0, **settings))
    await app.start(serve_web=False)
    try:
        assert app.console is not None and app.bus is not None
        await app.console.post(PostedMessage("admin", "team", "/skill admin observe #team"))
        replies = await app.console.post(PostedMessage("alice", "dm:alice", "/skill optin"))
        agree = next(b for r in replies for b in r.buttons if b["label"] == "Agree")
        await app.console.click(Click("alice", agree["action_id"], agree["value"]))
        events = [
            message_event(PostedMessage("alice", "team", TEXT), uuid.uuid4().hex, f"m{i}")
            for i in range(MESSAGES)
        ]
        start = time.perf_counter()
        deliveries = [await app.bus.publish(event) for event in events]
        outcomes = await asyncio.gather(*deliveries)
        rate = MESSAGES / (time.perf_counter() - start)
        assert set(outcomes) == {"stored"}, set(outcomes)  # a wrong setup, not a timing
        return rate
    finally:
        await app.stop()


async def main() -> None:
    configure("WARNING")
    prefix = f"apprentice-bench:{uuid.uuid4().hex[:8]}"
    bot.bus_redis.DEFAULT_PREFIX = prefix
    client = aioredis.from_url(REDIS_URL)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            memory = await through(root / "memory")
            redis = await through(root / "redis", bus="redis", redis_url=REDIS_URL)
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()
    print(f"messages per run: {MESSAGES} (one consenting author, stored in SQLite)")
    print(f"in-process bus     : {memory:8.0f} events/s (1.00x)")
    print(f"Redis Streams bus  : {redis:8.0f} events/s ({redis / memory:.2f}x in-process)")


if __name__ == "__main__":
    asyncio.run(main())
