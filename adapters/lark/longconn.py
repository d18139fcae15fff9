"""The long connection: lark-oapi's websocket client in a thread of its own, with its own loop.

lark-oapi 1.7.x captures an event loop when `lark_oapi.ws.client` is imported and blocks in
`start()`; it has no async start and no stop. So: a dedicated thread, a fresh loop set as the
module's `loop` before the client is made there, events handed to the bot by the dispatcher's
sink, and a shutdown that closes the socket and cancels the SDK's tasks inside that loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

import lark_oapi as lark
import lark_oapi.ws.client as ws_client
import structlog

log = structlog.get_logger(__name__)

STOP_TIMEOUT = 5.0


class LongConnection:
    def __init__(
        self, app_id: str, app_secret: str, domain: str, dispatcher: lark.EventDispatcherHandler
    ) -> None:
        self._app_id = app_id
        self._app_secret = app_secret
        self._domain = domain
        self._dispatcher = dispatcher
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: ws_client.Client | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.error: BaseException | None = None

    def start(self, done: asyncio.Future[None]) -> None:
        """Start the thread; `done` (a future of the caller's loop) resolves when it ends."""
        caller = done.get_loop()

        def finished() -> None:
            if not done.done():
                done.set_result(None)

        def main() -> None:
            try:
                self._run()
            finally:
                with contextlib.suppress(RuntimeError):  # the caller's loop may be closed
                    caller.call_soon_threadsafe(finished)

        self._thread = threading.Thread(target=main, name="lark-long-connection", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Close the socket, end the SDK's tasks and join the thread (blocking: use a thread)."""
        self._stopping.set()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("lark.ws.stop_timeout", seconds=timeout)

    @property
    def connected(self) -> bool:
        client = self._client
        return client is not None and getattr(client, "_conn", None) is not None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        ws_client.loop = loop  # the SDK schedules everything on this module-level loop
        self._loop = loop
        try:
            if self._stopping.is_set():
                return
            self._client = ws_client.Client(
                self._app_id,
                self._app_secret,
                log_level=lark.LogLevel.WARNING,  # its DEBUG lines would print event payloads
                event_handler=self._dispatcher,
                domain=self._domain,
                auto_reconnect=True,
            )
            self._client.start()
        except asyncio.CancelledError:
            pass  # stop() cancelled the SDK's tasks
        except BaseException as exc:  # noqa: BLE001 - reported to run(), which retries
            self.error = exc
        finally:
            self._drain(loop)

    async def _shutdown(self) -> None:
        client = self._client
        current = asyncio.current_task()
        for task in asyncio.all_tasks():
            if task is not current:
                task.cancel()
        if client is not None:
            client._auto_reconnect = False  # noqa: SLF001 - the SDK has no public stop
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client._disconnect(), STOP_TIMEOUT)  # noqa: SLF001

    @staticmethod
    def _drain(loop: asyncio.AbstractEventLoop) -> None:
        with contextlib.suppress(Exception):
            pending = asyncio.all_tasks(loop)
            for task in pending:
                if getattr(task.get_coro(), "__name__", "") != "_shutdown":  # socket closes first
                    task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        with contextlib.suppress(Exception):
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
