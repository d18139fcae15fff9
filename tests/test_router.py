"""Handler signatures are checked when registered, not when a user calls them."""

from __future__ import annotations

import pytest

from bot.context import Args, Context
from bot.events import Action, command_from_args, parse_command_text
from bot.router import Router


def test_sync_handler_is_refused_at_registration() -> None:
    router = Router()
    with pytest.raises(TypeError, match="async"):

        @router.command("x", summary="x")
        def handler(ctx: Context, args: Args) -> None:  # type: ignore[misc]
            return None


def test_wrong_parameter_type_is_refused_at_registration() -> None:
    router = Router()
    with pytest.raises(TypeError, match="must be annotated Args"):

        @router.command("x", summary="x")
        async def handler(ctx: Context, args: str) -> None:
            return None


def test_extra_parameter_is_refused_at_registration() -> None:
    router = Router()
    with pytest.raises(TypeError, match="exactly"):

        @router.command("x", summary="x")
        async def handler(ctx: Context, args: Args, more: int) -> None:
            return None


def test_action_handler_must_take_an_action() -> None:
    router = Router()
    with pytest.raises(TypeError, match="must be annotated Action"):

        @router.action("a")
        async def handler(ctx: Context, action: Args) -> None:
            return None


def test_same_command_twice_is_refused() -> None:
    first, second = Router(), Router()

    @first.command("x", summary="x")
    async def one(ctx: Context, args: Args) -> None:
        return None

    @second.command("x", summary="x")
    async def two(ctx: Context, args: Args) -> None:
        return None

    root = Router()
    root.include(first)
    with pytest.raises(ValueError, match="twice"):
        root.include(second)


def test_subcommands_resolve_with_the_rest_of_the_words() -> None:
    admin = Router("admin")

    @admin.command("observe", summary="x")
    async def observe(ctx: Context, args: Args) -> None:
        return None

    root = Router()
    root.include(admin, under="admin")
    route, args, owner = root.resolve("admin", Args(("observe", "#team"), "observe #team"))
    assert route is not None and route.name == "observe"
    assert args.words == ("#team",) and args.raw == "#team" and owner is admin


def test_action_handler_is_found_by_id() -> None:
    router = Router()

    @router.action("consent.agree")
    async def agree(ctx: Context, action: Action) -> None:
        return None

    assert router.action_handler("consent.agree") is agree
    assert router.action_handler("other") is None


@pytest.mark.parametrize(
    ("text", "name", "args"),
    [
        ("/skill optin", "optin", ()),
        ("/SKILL  Admin observe #team", "admin", ("observe", "#team")),
        ("@apprentice skill mydata", "mydata", ()),
        ("@apprentice: skill help", "help", ()),
        ("/skill", "help", ()),
        ("@apprentice help", "help", ()),
        ("@apprentice /skill optin yes", "optin", ("yes",)),
        ("@apprentice", "help", ()),
        ("@apprentice 同意", "同意", ()),
    ],
)
def test_command_text_normalizes_the_same_on_every_platform(
    text: str, name: str, args: tuple[str, ...]
) -> None:
    command = parse_command_text(text, bot_mentions=("@apprentice",))
    assert command is not None and command.name == name and command.args == args


def test_plain_text_is_not_a_command() -> None:
    assert parse_command_text("we should /skill up", bot_mentions=("@apprentice",)) is None
    assert parse_command_text("thanks @apprentice", bot_mentions=("@apprentice",)) is None
    assert parse_command_text("@apprenticeship rocks", bot_mentions=("@apprentice",)) is None
    assert parse_command_text("/skills are fun") is None


def test_raw_keeps_pasted_lines_after_the_name() -> None:
    command = command_from_args("code-review def f():\n    print('x')")
    assert command.name == "code-review"
    assert command.raw == "def f():\n    print('x')"


def test_hidden_commands_are_answered_but_not_listed() -> None:
    router = Router()

    @router.command("同意", summary="typed answer", hidden=True)
    async def typed(ctx: Context, args: Args) -> None: ...

    route, _, _ = router.resolve("同意", Args(()))
    assert route is not None and route.handler is typed
    assert router.routes() == []
