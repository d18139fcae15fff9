"""Redacting a batch of texts, in worker processes when the batch is big enough to pay.

The regex pass is the dominant per-message cost and holds the GIL, so a thread would not
help: a large batch is split across a small process pool (one process per spare core),
while the event loop goes on gating, encrypting and writing other batches. Small batches
(commands, a quiet channel) are redacted inline: sending them to a process costs more
than it saves. The texts only cross a pipe to our own child processes; nothing is logged.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from bot.redact import redact

POOL_MIN_BATCH = 128  # below this many texts, redacting inline is cheaper
CHUNK = 256  # texts per trip to a worker process


def redact_many(texts: list[str]) -> list[str]:
    """What a worker process runs."""
    return [redact(text) for text in texts]


def spare_cores() -> int:
    """Worker processes to use: the cores beside the one the event loop runs on."""
    return max(0, (os.cpu_count() or 1) - 1)


class Redactor:
    def __init__(self, processes: int | None = None) -> None:
        self._processes = spare_cores() if processes is None else processes
        self._pool: ProcessPoolExecutor | None = None

    async def redact_all(self, texts: list[str]) -> list[str]:
        if self._processes == 0 or len(texts) < POOL_MIN_BATCH:
            return redact_many(texts)
        if self._pool is None:  # made on first use: most runs never need it
            self._pool = ProcessPoolExecutor(
                max_workers=self._processes, mp_context=multiprocessing.get_context("spawn")
            )
        loop = asyncio.get_running_loop()
        chunks = [texts[i : i + CHUNK] for i in range(0, len(texts), CHUNK)]
        done = await asyncio.gather(
            *(loop.run_in_executor(self._pool, redact_many, chunk) for chunk in chunks)
        )
        return [text for chunk in done for text in chunk]

    async def aclose(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
