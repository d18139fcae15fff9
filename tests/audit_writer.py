"""A second process writing to the audit log (tests/test_audit.py runs two of these at once).

python -m tests.audit_writer DATABASE_URL DATA_DIR COUNT MAC_KEY_HEX PSEUDONYM_KEY_HEX BARRIER
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tortoise import Tortoise

from bot.audit import AuditLog
from bot.settings import Settings
from bot.storage.database import tortoise_config


async def main(url: str, data_dir: str, count: int, mac: str, pseudo: str, barrier: str) -> None:
    settings = Settings(data_dir=Path(data_dir), database_url=url)
    await Tortoise.init(config=tortoise_config(settings))
    try:
        audit = AuditLog(bytes.fromhex(mac), bytes.fromhex(pseudo), checkpoint_every=0)
        # Start together: each writer says it is ready, then waits for the other.
        gate = Path(barrier)
        (gate / f"ready-{os.getpid()}").touch()
        while len(list(gate.glob("ready-*"))) < 2:
            await asyncio.sleep(0.01)
        for n in range(count):
            await audit.record("console", "local", "test.write", f"writer-{os.getpid()}", n=n)
    finally:
        await Tortoise.close_connections()


if __name__ == "__main__":
    url, data_dir, count, mac, pseudo, barrier = sys.argv[1:7]
    asyncio.run(main(url, data_dir, int(count), mac, pseudo, barrier))
