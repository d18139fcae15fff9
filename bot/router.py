"""The Router for the `/skill` command family and for button actions.

Handlers are `async def handler(ctx: Context, args: Args) -> None` (commands) or
`async def handler(ctx: Context, action: Action) -> None` (buttons); the signature is
checked when the handler is registered, so a wrong one fails at start-up, not at a user.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.context import Args, Context
from bot.events import Action

CommandHandler = Callable[[Context, Args], Awaitable[None]]
ActionHandler = Callable[[Context, Action], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    handler: CommandHandler
    summary: str
    usage: str
    admin: bool
    hidden: bool = False  # a typed alias (同意): answered, but not listed in help


def _check_signature(handler: Callable[..., Any], second: type, what: str) -> None:
    name = getattr(handler, "__qualname__", repr(handler))
    if not inspect.iscoroutinefunction(handler):
        raise TypeError(f"{what} handler {name} must be an async function")
    try:
        hints = inspect.get_annotations(handler, eval_str=True)
    except NameError as exc:
        raise TypeError(f"{what} handler {name} has an annotation that cannot be resolved") from exc
    params = list(inspect.signature(handler).parameters.values())
    if len(params) != 2 or any(
        p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params
    ):
        raise TypeError(f"{what} handler {name} must take exactly (ctx, {second.__name__.lower()})")
    expected = (Context, second)
    for param, want in zip(params, expected, strict=True):
        got = hints.get(param.name)
        if got is not want:
            raise TypeError(
                f"{what} handler {name}: parameter {param.name!r} must be annotated {want.__name__}"
            )


class Router:
    def __init__(self, name: str = "") -> None:
        self.name = name
        self._routes: dict[str, Route] = {}
        self._subrouters: dict[str, Router] = {}
        self._actions: dict[str, ActionHandler] = {}
        self._fallback: CommandHandler | None = None

    # -- registration ------------------------------------------------------------------

    def command(
        self,
        name: str,
        *,
        summary: str,
        usage: str = "",
        admin: bool = False,
        hidden: bool = False,
    ) -> Callable[[CommandHandler], CommandHandler]:
        def register(handler: CommandHandler) -> CommandHandler:
            _check_signature(handler, Args, "command")
            if name in self._routes or name in self._subrouters:
                raise ValueError(f"command {name!r} is registered twice")
            self._routes[name] = Route(name, handler, summary, usage or name, admin, hidden)
            return handler

        return register

    def action(self, action_id: str) -> Callable[[ActionHandler], ActionHandler]:
        def register(handler: ActionHandler) -> ActionHandler:
            _check_signature(handler, Action, "action")
            if action_id in self._actions:
                raise ValueError(f"action {action_id!r} is registered twice")
            self._actions[action_id] = handler
            return handler

        return register

    def fallback(self, handler: CommandHandler) -> CommandHandler:
        """The handler for `/skill NAME …` when NAME is no command (e.g. a learned skill).

        It receives the whole command: `args.words[0]` is NAME.
        """
        _check_signature(handler, Args, "fallback")
        if self._fallback is not None:
            raise ValueError("a fallback handler is registered twice")
        self._fallback = handler
        return handler

    def include(self, router: Router, *, under: str | None = None) -> None:
        """Add another router's commands, at top level or as `/skill <under> …`."""
        if under is not None:
            if under in self._routes or under in self._subrouters:
                raise ValueError(f"command {under!r} is registered twice")
            self._subrouters[under] = router
        else:
            for route in router._routes.values():
                if route.name in self._routes:
                    raise ValueError(f"command {route.name!r} is registered twice")
                self._routes[route.name] = route
            for sub_name, sub in router._subrouters.items():
                self.include(sub, under=sub_name)
        if router._fallback is not None:
            self.fallback(router._fallback)
        for action_id, handler in router._actions.items():
            if action_id in self._actions:
                raise ValueError(f"action {action_id!r} is registered twice")
            self._actions[action_id] = handler

    # -- lookup ------------------------------------------------------------------------

    def resolve(self, name: str, args: Args) -> tuple[Route | None, Args, Router]:
        """The route for `name args…`, descending into sub-routers; None when unknown."""
        if name in self._subrouters:
            sub = self._subrouters[name]
            route, sub_args, owner = sub.resolve(args.first(), args.rest())
            return route, sub_args, owner
        return self._routes.get(name), args, self

    @property
    def fallback_handler(self) -> CommandHandler | None:
        return self._fallback

    def action_handler(self, action_id: str) -> ActionHandler | None:
        return self._actions.get(action_id)

    def routes(self) -> list[Route]:
        """The commands to list (typed aliases such as 同意 are left out)."""
        return [route for route in self._routes.values() if not route.hidden]

    def subrouters(self) -> dict[str, Router]:
        return dict(self._subrouters)
