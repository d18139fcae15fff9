"""Probes and metrics on the bot's web server: /healthz, /readyz, /metrics.

- /healthz: the process answers (liveness: restart it when this fails).
- /readyz: the database answers a query and the bus is running or reachable (readiness:
  send it traffic only when this is 200). The body names what failed, never a secret.
- /metrics: Prometheus text format, counts and timings only (bot/metrics.py).
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from tortoise import Tortoise

from bot.metrics import Metrics

log = structlog.get_logger(__name__)

PROBE_SECONDS = 2.0  # a check slower than this counts as failed


class Probed(Protocol):
    """What the probes need of the application."""

    bus: Any


async def database_ready() -> bool:
    connection = Tortoise.get_connection("default")
    await connection.execute_query("SELECT 1")
    return True


async def bus_ready(bus: Any) -> bool:
    if bus is None:
        return False
    ready = getattr(bus, "ready", None)
    if ready is not None:
        return bool(await ready())
    client = getattr(bus, "_redis", None)  # a bus without ready(): its Redis must answer
    return client is not None and bool(await client.ping())


async def _check(name: str, probe: Any) -> str | None:
    """None when the check passed, else a short reason (the exception's type, no detail)."""
    try:
        async with asyncio.timeout(PROBE_SECONDS):
            if await probe:
                return None
            return f"{name}: not running"
    except TimeoutError:
        return f"{name}: no answer within {PROBE_SECONDS:g} s"
    except Exception as exc:  # a probe reports, it never raises
        return f"{name}: {type(exc).__name__}"


def add_health_routes(web_app: web.Application, app: Probed, metrics: Metrics) -> None:
    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        failed = [
            reason
            for reason in await asyncio.gather(
                _check("database", database_ready()), _check("bus", bus_ready(app.bus))
            )
            if reason is not None
        ]
        if failed:
            log.warning("readyz.not_ready", failed=failed)
            return web.json_response({"status": "not ready", "failed": failed}, status=503)
        return web.json_response({"status": "ready"})

    async def metrics_page(request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/readyz", readyz)
    web_app.router.add_get("/metrics", metrics_page)
