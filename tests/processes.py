"""Real `apprentice run --role …` processes on the Redis bus and a scratch PostgreSQL database,
for the fault tests and bench/bus_bench.py. Nothing here is a fake: each is the CLI itself."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
from redis import asyncio as aioredis
from tortoise.backends.base.executor import EXECUTOR_CACHE

from tests.conftest import service_unavailable

REPO = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get(
    "APPRENTICE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("APPRENTICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@contextlib.asynccontextmanager
async def scratch_postgres(admin_url: str) -> AsyncIterator[str]:
    """A fresh database on the server of `admin_url`, dropped afterwards; yields its URL."""
    name = f"apprentice_proc_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(admin_url.replace("postgres://", "postgresql://", 1))
    await connection.execute(f'CREATE DATABASE "{name}"')
    # tortoise caches INSERT SQL by connection name, not dialect: drop it when switching.
    EXECUTOR_CACHE.clear()
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        EXECUTOR_CACHE.clear()
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


@contextlib.asynccontextmanager
async def installation(data_dir: Path, **extra: str) -> AsyncIterator[dict[str, str]]:
    """The test servers' scratch database and a Redis prefix of its own, as the environment
    every process of one installation shares; the prefix's keys go afterwards."""
    try:
        probe = await asyncpg.connect(POSTGRES_URL.replace("postgres://", "postgresql://", 1))
        await probe.close()
        redis = aioredis.from_url(REDIS_URL, socket_connect_timeout=2)
        await redis.ping()
        await redis.aclose()
    except Exception as exc:
        service_unavailable(f"PostgreSQL and Redis are needed ({type(exc).__name__})")
    prefix = f"apprentice-test:{uuid.uuid4().hex[:12]}"
    try:
        async with scratch_postgres(POSTGRES_URL) as database_url:
            yield shared_environment(database_url, REDIS_URL, prefix, data_dir, **extra)
    finally:
        redis = aioredis.from_url(REDIS_URL)
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=500)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def shared_environment(
    database_url: str, redis_url: str, prefix: str, data_dir: Path, **extra: str
) -> dict[str, str]:
    """What every process of one installation shares (the master key opens the bus)."""
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "APPRENTICE_BUS": "redis",
        "APPRENTICE_BUS_PREFIX": prefix,
        "APPRENTICE_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "APPRENTICE_DATA_DIR": str(data_dir),
        "APPRENTICE_CONSOLE": "false",
        "APPRENTICE_DEMO": "false",
        "APPRENTICE_LOG_FORMAT": "json",
        "APPRENTICE_LOG_LEVEL": "INFO",
    }
    env.update(extra)
    return env


def settings_values(env: dict[str, str]) -> dict[str, Any]:
    """The same installation as Settings keyword arguments, for the test's own process."""
    return {
        "database_url": env["DATABASE_URL"],
        "redis_url": env["REDIS_URL"],
        "bus": "redis",
        "bus_prefix": env["APPRENTICE_BUS_PREFIX"],
        "master_key": env["APPRENTICE_MASTER_KEY"],
        "data_dir": Path(env["APPRENTICE_DATA_DIR"]),
        "console": False,
        "demo": False,
        **({"bus_lease_seconds": float(env["APPRENTICE_BUS_LEASE_SECONDS"])}
           if "APPRENTICE_BUS_LEASE_SECONDS" in env else {}),
    }  # fmt: skip


class BotProcess:
    """`apprentice run --role ROLE` in a process of its own; its JSON log lines kept in a file."""

    def __init__(self, role: str, env: dict[str, str], log_path: Path, web_port: int) -> None:
        self.role = role
        self.log_path = log_path
        self._env = {**os.environ, **env, "APPRENTICE_WEB_PORT": str(web_port)}
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            self._env.pop(proxy, None)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from bot.cli import main; main()",
                    "run",
                    "--role",
                    self.role,
                ],
                cwd=REPO,
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def lines(self) -> list[dict[str, Any]]:
        """The process's log so far, one JSON object per structured line."""
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                item = json.loads(line)
                if isinstance(item, dict):
                    found.append(item)
        return found

    def logged(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("event") == event]

    async def wait_started(self, guard: float = 120.0) -> None:
        """Until it logs `apprentice.started` (`guard` only stops a hung run)."""
        await self._until(lambda: bool(self.logged("apprentice.started")), "to start", guard)

    async def _until(self, condition: Any, what: str, guard: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + guard
        while not condition():
            assert self._process is not None
            if self._process.poll() is not None:
                raise AssertionError(
                    f"{self.role} exited ({self._process.returncode}) {what}:\n"
                    + self.log_path.read_text(errors="replace")[-3000:]
                )
            assert loop.time() < deadline, f"{self.role} did not manage {what}"
            await asyncio.sleep(0.02)

    def ensure_gone(self) -> None:
        """After a test, pass or fail: no process of it is left running."""
        if self._process is not None and self._process.poll() is None:
            self.kill()

    def kill(self) -> None:
        """kill -9: no clean-up of any kind."""
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGKILL)
        self._process.wait()

    async def stop(self, guard: float = 120.0) -> dict[str, Any]:
        """SIGTERM, wait for it to exit; returns its bus counts (from `bus.stopped`)."""
        assert self._process is not None
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(self._process.wait, guard)
        stopped = self.logged("bus.stopped")
        return stopped[-1] if stopped else {}
