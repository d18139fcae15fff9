"""What happens to one event once the bus hands it over: gate, observe, or route a command."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from enum import StrEnum

import structlog

from bot.commands.consent import send_notice, typed_answer
from bot.commands.help import help_text
from bot.consent.gate import ConsentGate, ObservedMessage, Refusal, Refused
from bot.consent.notices import Purpose
from bot.context import Args, Context
from bot.events import ConversationKind, Event, EventKind
from bot.logging import where
from bot.router import Router
from bot.services import Services

log = structlog.get_logger(__name__)


class Outcome(StrEnum):
    STORED = "stored"
    FAILED = "failed"
    ALREADY_STORED = "already_stored"
    ERASED = "erased"
    HANDLED = "handled"
    IGNORED = "ignored"
    DUPLICATE = "duplicate_event"


class Pipeline:
    def __init__(self, services: Services, router: Router, gate: ConsentGate, timeout: float):
        self._services = services
        self._router = router
        self._gate = gate
        self._timeout = timeout
        self._metrics = services.metrics

    def close(self) -> None:
        self._gate.close()

    async def process_batch(self, events: Sequence[Event]) -> list[str]:
        """Handle events in order; runs of plain messages are gated, redacted, encrypted and
        written together. Anything else (a command, a click, a deletion) is handled alone at
        its place, so a consent change applies to every message queued behind it."""
        outcomes: list[str] = [Outcome.IGNORED] * len(events)
        run: list[int] = []
        for index, event in enumerate(events):
            if _is_plain_message(event):
                run.append(index)
                continue
            await self._observe_isolated(events, run, outcomes)
            run = []
            outcomes[index] = await self._process_isolated(event)
        await self._observe_isolated(events, run, outcomes)
        return outcomes

    async def _observe_isolated(
        self, events: Sequence[Event], run: list[int], outcomes: list[str]
    ) -> None:
        """A run as one batch; if the gate fails on it, each message alone."""
        if not run:
            return
        started = time.perf_counter()
        try:
            await self._observe_run(events, run, outcomes)
        except Exception as exc:  # the gate failed (before anything was stored or sent)
            log.warning("ingest.gate_failed", size=len(run), error=type(exc).__name__)
            for index in run:
                outcomes[index] = await self._process_isolated(events[index])
        self._metrics.ingest_batch_seconds.observe(time.perf_counter() - started)
        self._metrics.ingest_batch_messages.observe(len(run))

    async def _process_isolated(self, event: Event) -> str:
        try:
            return await self.process(event)
        except Exception as exc:  # isolate: log without content and keep going
            log.error(
                "bus.event_failed", event_id=event.id, error=type(exc).__name__, where=where(exc)
            )
            return Outcome.FAILED

    async def process(self, event: Event) -> str:
        """Handle one event; returns what became of it (an Outcome or a Refusal value)."""
        if event.actor.is_bot:
            self._metrics.dropped(Refusal.FROM_A_BOT.value)
            return Refusal.FROM_A_BOT.value
        if event.kind is EventKind.MESSAGE:
            return await self._message(event)
        if event.kind in (EventKind.COMMAND, EventKind.ACTION):
            await self._interaction(event)
            return Outcome.HANDLED
        return Outcome.IGNORED

    # -- observation -------------------------------------------------------------------

    async def _message(self, event: Event) -> str:
        if event.deleted:
            tenant = await self._services.directory.find_tenant(event.platform, event.tenant)
            if tenant is not None and event.message_id:
                await self._services.observations.delete_message(tenant, event.message_id)
            return Outcome.ERASED
        outcomes = [Outcome.IGNORED.value]
        await self._observe_run([event], [0], outcomes)
        return outcomes[0]

    async def _observe_run(
        self, events: Sequence[Event], run: list[int], outcomes: list[str]
    ) -> None:
        """Gate a run of messages, store what is admitted in one batch, answer the rest."""
        if not run:
            return
        batch = [events[i] for i in run]
        epoch = self._gate.epoch
        verdicts = await self._gate.admit_many(batch)
        admitted: list[ObservedMessage] = []
        where_in_run: list[int] = []
        for position, verdict in enumerate(verdicts):
            if isinstance(verdict, ObservedMessage):
                admitted.append(verdict)
                where_in_run.append(position)
            else:
                outcomes[run[position]] = await self._refused(batch[position], verdict)

        async def still_admitted(indices: list[int]) -> set[int]:
            # Consent or a channel changed while the batch was redacted: decide again.
            if self._gate.epoch == epoch:
                return set(indices)
            again = await self._gate.admit_many([batch[where_in_run[i]] for i in indices])
            kept = set()
            for i, verdict in zip(indices, again, strict=True):
                if isinstance(verdict, ObservedMessage):
                    kept.add(i)
                else:
                    self._metrics.dropped(verdict.reason.value)
                    outcomes[run[where_in_run[i]]] = verdict.reason.value
            return kept

        if not admitted:
            return
        store = self._services.observations.store_many
        try:
            stored: list[bool | None] = list(await store(admitted, still_admitted))
        except Exception as exc:
            if len(admitted) == 1:
                raise  # one event (e.g. the Redis bus): its caller retries it
            # Isolate: store each alone (what was stored is skipped: the id is unique), so
            # one bad message does not sink its batch, and no refused author hears twice.
            log.warning("ingest.batch_failed", size=len(admitted), error=type(exc).__name__)
            stored = [
                await self._store_alone(i, admitted, still_admitted) for i in range(len(admitted))
            ]
        for i, kept in enumerate(stored):
            index = run[where_in_run[i]]
            if kept is None:
                outcomes[index] = Outcome.FAILED
            elif outcomes[index] == Outcome.IGNORED:  # not refused on the second look
                outcomes[index] = Outcome.STORED if kept else Outcome.ALREADY_STORED

    async def _store_alone(
        self,
        i: int,
        admitted: list[ObservedMessage],
        still_admitted: Callable[[list[int]], Awaitable[set[int]]],
    ) -> bool | None:
        """Store one message of a failed batch; None when it fails on its own too."""

        async def still(_: list[int]) -> set[int]:
            return {0} if await still_admitted([i]) else set()

        try:
            return (await self._services.observations.store_many([admitted[i]], still))[0]
        except Exception as exc:
            log.error("ingest.message_failed", error=type(exc).__name__, where=where(exc))
            return None

    async def _refused(self, event: Event, verdict: Refused) -> str:
        """What happens to a message the gate refused: perhaps a word to its author."""
        log.debug("message.not_observed", event_id=event.id, reason=verdict.reason.value)
        self._metrics.dropped(verdict.reason.value)
        if event.imported:  # history imports never DM anyone
            return verdict.reason.value
        if event.conversation.kind is ConversationKind.DM and (answer := typed_answer(event.text)):
            await self._interaction(replace(event, kind=EventKind.COMMAND, command=answer))
            return Outcome.HANDLED
        if event.conversation.kind is ConversationKind.DM and event.text.strip():
            ctx = await self._context(event)
            await ctx.dm("I don't read direct messages — only commands. `/skill help` lists them.")
        elif (
            verdict.reason is Refusal.NO_GRANT
            and verdict.tenant is not None
            and await self._gate.may_prompt(verdict.tenant, event.actor.id)
        ):
            ctx = Context(event=event, tenant=verdict.tenant, services=self._services)
            await send_notice(ctx, Purpose.OBSERVE)
        return verdict.reason.value

    # -- commands and buttons ----------------------------------------------------------

    async def _interaction(self, event: Event) -> None:
        started = time.perf_counter()
        try:
            await self._interact(event)
        finally:
            self._metrics.handler_seconds.labels(kind=event.kind.value).observe(
                time.perf_counter() - started
            )

    async def _interact(self, event: Event) -> None:
        ctx = await self._context(event)
        try:
            async with asyncio.timeout(self._timeout):
                if event.kind is EventKind.COMMAND:
                    await self._command(ctx)
                else:
                    await self._action(ctx)
        except TimeoutError:
            log.warning("handler.timeout", event_id=event.id, kind=event.kind.value)
            await ctx.reply("That took too long and was stopped. Please try again in a moment.")
        except Exception as exc:  # isolate: one failing handler never stops the bus
            error_id = uuid.uuid4().hex[:8]
            log.error(
                "handler.failed",
                event_id=event.id,
                error_id=error_id,
                error=type(exc).__name__,
                where=where(exc),
            )
            await ctx.reply(
                f"Something went wrong on my side (error {error_id}). Please try again; "
                "if it keeps happening, tell an admin that number."
            )

    async def _command(self, ctx: Context) -> None:
        command = ctx.event.command
        assert command is not None
        route, args, owner = self._router.resolve(command.name, Args(command.args, command.raw))
        needs_admin = route.admin if route else owner is not self._router
        if needs_admin and not ctx.is_admin:
            await ctx.audit(
                "admin.refused",
                command=route.name if route else owner.name,
            )
            await ctx.reply(
                "Sorry — admin commands are for workspace admins of Apprentice. "
                "Ask one of them, or use `/skill help` to see what you can do."
            )
            return
        if route is not None:
            await route.handler(ctx, args)
        elif owner is self._router and self._router.fallback_handler is not None:
            whole = Args((command.name, *command.args), f"{command.name} {command.raw}".strip())
            await self._router.fallback_handler(ctx, whole)
        else:
            await ctx.reply(unknown_command(command.name, owner, self._router, ctx.is_admin))

    async def _action(self, ctx: Context) -> None:
        action = ctx.event.action
        assert action is not None
        handler = self._router.action_handler(action.id)
        if handler is None:
            await ctx.dm("That button no longer does anything. `/skill help` lists what I can do.")
            return
        await handler(ctx, action)

    async def _context(self, event: Event) -> Context:
        tenant = await self._services.directory.tenant(event.platform, event.tenant)
        return Context(event=event, tenant=tenant, services=self._services)


def _is_plain_message(event: Event) -> bool:
    """A message that only the gate and the store need to see (batched)."""
    return event.kind is EventKind.MESSAGE and not event.deleted and not event.actor.is_bot


def unknown_command(name: str, owner: Router, root: Router, is_admin: bool) -> str:
    """The answer to a command nobody handles: what exists instead."""
    if owner is not root:
        known = ", ".join(f"`{r.usage}`" for r in owner.routes())
        return (
            f"Use one of: {known}." if not name else f"I don't know `{name}`. Use one of: {known}."
        )
    return f"I don't know `/skill {name}`. Here is what I can do:\n" + help_text(
        root, admin=is_admin
    )
