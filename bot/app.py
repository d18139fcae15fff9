"""The composition root: build every part once, start them in order, stop them in reverse."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import signal
from datetime import UTC, datetime, timedelta

import structlog
from aiohttp import web

from adapters.base import Adapter
from adapters.console.adapter import ConsoleAdapter
from adapters.console.web import add_routes as add_console_routes
from bot.audit import open_audit_log
from bot.bus import InProcessBus
from bot.bus_redis import RedisStreamsBus
from bot.composition import admin_sections, build_router, skills_runtime
from bot.consent.erasure import Eraser
from bot.consent.ledger import ConsentLedger
from bot.consent.notices import Terms
from bot.directory import Directory
from bot.health import add_health_routes
from bot.observations import ObservationStore
from bot.outbox import Outbox
from bot.people import People
from bot.roles import Role, duties_of
from bot.scheduler_lock import SchedulerLock
from bot.services import Services, SkillsPort
from bot.settings import Settings
from bot.storage.database import close_database, open_database
from bot.storage.models import Tenant
from bot.storage.vault import Vault, load_master_key
from bot.web.admin import add_admin_routes
from bot.web.mydata import add_mydata_routes

log = structlog.get_logger(__name__)

RETENTION_SWEEP_SECONDS = 3600


class Application:
    """Everything the bot runs. Call start() and stop() from the same task: tortoise keeps
    its connections in the task's context, and a stop from another task leaves them open."""

    def __init__(self, settings: Settings, role: Role = Role.ALL) -> None:
        self.settings = settings
        self.role = role
        self.must_stop = asyncio.Event()  # set when this process can no longer do its role
        self.console: ConsoleAdapter | None = None
        self.adapters: list[Adapter] = []
        self.services: Services | None = None
        self.bus: InProcessBus | RedisStreamsBus | None = None
        self.web_app = web.Application(client_max_size=1024 * 1024)
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        self.eraser: Eraser | None = None

    async def start(self, *, serve_web: bool = True, adapters: bool = True) -> None:
        settings = self.settings
        duties = duties_of(self.role, settings)
        vault = Vault(load_master_key(settings))
        await open_database(settings)
        try:
            await vault.load_service_keys()
        except BaseException:
            # Another master key, say: close, or the open connection's thread keeps the
            # process from exiting after the error.
            await close_database()
            raise
        outbox = Outbox()
        router = build_router()
        for admin in settings.admins_without_workspace():
            log.warning(
                "settings.admin_without_workspace",
                admin=admin,
                advice="write it platform:workspace:user_id; until then it is admin only in "
                "the first workspace of its platform this install saw",
            )
        audit = await open_audit_log(settings, vault)
        ledger, observations = ConsentLedger(Terms.of(settings)), ObservationStore(vault)
        skills = skills_runtime(settings, ledger, observations, vault)
        self.services = Services(
            settings=settings,
            vault=vault,
            directory=Directory(ledger.changes),  # one feed of consent changes
            ledger=ledger,
            people=People(vault),
            observations=observations,
            audit=audit,
            outbox=outbox,
            router=router,
            skills=skills,
        )
        self.eraser = Eraser(observations, skills.forget)
        self.eraser.start()  # finishes erasures a stopped process left half done
        if settings.bus == "redis":
            self.bus = RedisStreamsBus(
                self.services,
                router,
                redis_url=settings.redis_url,
                prefix=settings.bus_prefix,
                lease_seconds=settings.bus_lease_seconds,
                consume=duties.consume,
                max_deliveries=settings.bus_max_deliveries,
                queue_size=settings.bus_queue_size,
                workers=settings.bus_workers,
                handler_timeout=settings.handler_timeout,
            )
        else:
            self.bus = InProcessBus(
                self.services,
                router,
                queue_size=settings.bus_queue_size,
                workers=settings.bus_workers,
                handler_timeout=settings.handler_timeout,
            )
        await self.bus.start()
        if duties.schedule:
            await self._schedule(skills)  # re-registers persisted schedules
        if adapters and (duties.receive or duties.consume):
            self._build_adapters(receive=duties.receive)
        for adapter in self.adapters:
            outbox.register(adapter)  # a worker sends through them; only a receiver runs them
            if duties.receive:
                self._tasks.append(
                    asyncio.create_task(
                        adapter.run(self.bus.publish), name=f"adapter-{adapter.name}"
                    )
                )
        self._tasks.append(asyncio.create_task(self._sweep_expired(), name="retention"))
        if serve_web:
            await self._serve_web()
        if self.console is not None and settings.demo_enabled and await self._database_is_empty():
            from bot.demo import seed_demo  # noqa: PLC0415 - only needed on a first start

            await seed_demo(self.console, self.services)
        log.info(
            "apprentice.started",
            role=self.role.value,
            adapters=[a.name for a in self.adapters],
            web=f"http://{settings.web_host}:{settings.web_port}" if serve_web else None,
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self.services is not None and self.services.skills is not None:
            await self.services.skills.stop()
        # Stop taking events in first, then let the bus finish what it holds (its
        # replies still go out through the adapters), then close the adapters.
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self.bus is not None:
            await self.bus.stop()
        for adapter in self.adapters:
            with contextlib.suppress(Exception):
                await adapter.aclose()
        if self.eraser is not None:
            await self.eraser.stop()
        if self.services is not None:
            await self.services.observations.aclose()
        await close_database()

    async def _schedule(self, skills: SkillsPort) -> None:
        """Run the schedules here: at once on SQLite (one process), else under the lock."""
        assert self.bus is not None
        publish = self.bus.publish
        if self.settings.is_sqlite:
            await skills.start(publish)
            return
        lock = SchedulerLock(self.settings)

        async def start() -> None:
            await skills.start(publish)

        async def nothing() -> None:
            return None

        held = await lock.try_acquire()
        if held:
            await start()
        else:
            log.info("scheduler.standby", reason="another process runs the scheduler")
        self._tasks.append(
            asyncio.create_task(lock.hold(nothing if held else start, self.must_stop.set))
        )

    def _build_adapters(self, receive: bool = True) -> None:
        enabled = self.settings.enabled_adapters()
        # A worker only sends: no webhook routes on its web server.
        routes = self.web_app if receive else web.Application()
        if "console" in enabled and receive:
            self.console = ConsoleAdapter()
            add_console_routes(self.web_app, self.console, self.settings.web_host)
            self.adapters.append(self.console)
        for name in enabled:
            if name == "console":
                continue
            # Platform SDKs are heavy (lark-oapi alone takes seconds to import): load the
            # package of an adapter only when its credentials are set.
            package = importlib.import_module(f"adapters.{name}")
            build = getattr(package, "build", None)
            if build is None:
                log.warning("adapter.not_available", adapter=name)
                continue
            self.adapters.append(build(self.settings, routes))

    async def _serve_web(self) -> None:
        add_admin_routes(self.web_app, self, admin_sections())  # signed in, under /admin
        add_mydata_routes(self.web_app, self)  # each person's own, under /mydata
        assert self.services is not None
        add_health_routes(self.web_app, self, self.services.metrics)
        self._runner = web.AppRunner(self.web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.web_host, self.settings.web_port)
        await site.start()

    async def _database_is_empty(self) -> bool:
        return not await Tenant.exists()

    async def _sweep_expired(self) -> None:
        while True:
            await self.purge_expired()
            await asyncio.sleep(RETENTION_SWEEP_SECONDS)

    async def purge_expired(self) -> None:
        """Retention: observations and what skills keep (quotes go with their sources)."""
        assert self.services is not None
        days = self.settings.retention_days
        removed = await self.services.observations.purge_expired(days)
        taught = 0
        if self.services.skills is not None:
            taught = await self.services.skills.purge_expired(
                datetime.now(UTC) - timedelta(days=days)
            )
        if removed or taught:
            log.info("retention.purged", observations=removed, examples=taught)


async def run_forever(settings: Settings, role: Role = Role.ALL) -> bool:
    """Run until SIGINT or SIGTERM, then finish queued work and stop cleanly; True when it
    stopped because it could no longer do its role."""
    app = Application(settings, role)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await app.start()
    try:
        done = [asyncio.create_task(e.wait()) for e in (stop, app.must_stop)]
        await asyncio.wait(done, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.cancel()
        log.info("apprentice.stopping", lost_role=app.must_stop.is_set())
    finally:
        await app.stop()
    return app.must_stop.is_set()
