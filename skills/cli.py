"""`apprentice skills …`: list, show, learn, run, export and import skills."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

app = typer.Typer(
    help="Learned skills: list, show, learn, run, export, import.", no_args_is_help=True
)
out = Console(highlight=False, soft_wrap=True)
T = TypeVar("T")

WORKSPACE_HELP = "PLATFORM[:TENANT], e.g. console or slack:T012AB; needed with several workspaces"


def _settings():  # noqa: ANN202 - bot.cli owns settings errors
    from bot.cli import _settings as load

    return load()


def _with_engine(work: Callable[..., Awaitable[T]]) -> T:
    """Open the database, build the engine, run `work(engine)`, close everything."""
    from bot.consent.ledger import ConsentLedger
    from bot.observations import ObservationStore
    from bot.storage.database import close_database, open_database
    from bot.storage.vault import Vault, load_master_key
    from skills.engine import SkillEngine

    settings = _settings()

    async def go() -> T:
        vault = Vault(load_master_key(settings))
        await open_database(settings)
        engine = SkillEngine(
            settings=settings,
            ledger=ConsentLedger(),
            observations=ObservationStore(vault),
            vault=vault,
        )
        try:
            return await work(engine)
        finally:
            await engine.model.aclose()
            await close_database()

    return asyncio.run(go())


async def _tenant(workspace: str | None):  # noqa: ANN202
    from bot.storage.models import Tenant

    query = Tenant.all()
    if workspace:
        platform, _, external = workspace.partition(":")
        query = query.filter(platform=platform)
        if external:
            query = query.filter(external_id=external)
    tenants = await query
    if len(tenants) == 1:
        return tenants[0]
    if not tenants:
        out.print(
            "[red]No such workspace yet.[/red] Start the bot once (`apprentice run`) or "
            "check --workspace."
        )
    else:
        names = ", ".join(f"{t.platform}:{t.external_id}" for t in tenants)
        out.print(f"[red]Several workspaces: {names}.[/red] Pick one with --workspace.")
    raise typer.Exit(2)


def _print(text: str, ok: bool = True) -> None:
    out.print(text, markup=False)
    if not ok:
        raise typer.Exit(1)


@app.command("list")
def list_skills(workspace: str = typer.Option(None, help=WORKSPACE_HELP)) -> None:
    """The skills of a workspace and how often they were used."""

    async def work(engine):  # noqa: ANN001, ANN202
        return await engine.list_skills(await _tenant(workspace))

    reply = _with_engine(work)
    _print(reply.text)


@app.command("show")
def show(
    name: str,
    version: int = typer.Option(None, help="a version number"),
    workspace: str = typer.Option(None, help=WORKSPACE_HELP),
) -> None:
    """Sections, rules, contributors and runs of a skill."""

    async def work(engine):  # noqa: ANN001, ANN202
        return await engine.show(await _tenant(workspace), name, version)

    reply = _with_engine(work)
    _print(reply.text, reply.ok)


@app.command("learn")
def learn(
    name: str,
    channel: Annotated[list[str] | None, typer.Option(help="only these channels")] = None,
    workspace: Annotated[str | None, typer.Option(help=WORKSPACE_HELP)] = None,
) -> None:
    """Learn a new draft version from consented observations."""

    async def work(engine):  # noqa: ANN001, ANN202
        return await engine.learn(
            await _tenant(workspace), name, None, set(channel) if channel else None
        )

    reply = _with_engine(work)
    _print(reply.text, reply.ok)


@app.command("run")
def run(
    name: str,
    as_: Annotated[str, typer.Option("--as", help="PLATFORM:USER, the person it runs for")],
    week: Annotated[
        str | None, typer.Option(help="ISO week, e.g. 2026-W47 (default: this week)")
    ] = None,
    input_file: Annotated[
        Path | None,
        typer.Option(
            "--input", exists=True, dir_okay=False, help="a file with the code or notes to work on"
        ),
    ] = None,
    workspace: Annotated[str | None, typer.Option(help=WORKSPACE_HELP)] = None,
) -> None:
    """Print what `/skill NAME` would answer this person."""
    platform, sep, user = as_.partition(":")
    if not sep or not user:
        out.print("[red]--as must be PLATFORM:USER[/red], e.g. --as console:alice")
        raise typer.Exit(2)
    text = input_file.read_text(encoding="utf-8") if input_file else ""

    async def work(engine):  # noqa: ANN001, ANN202
        tenant = await _tenant(workspace or platform)
        return await engine.run(tenant, name.lower(), user, input_text=text, week=week)

    reply = _with_engine(work)
    if reply is None:
        _print(f"There is no skill {name!r}. `apprentice skills list` shows them.", False)
        return
    _print(reply.text, reply.ok)


@app.command("export")
def export(
    name: str,
    directory: Path,
    version: int = typer.Option(None, help="a version number (default: what runs)"),
    workspace: str = typer.Option(None, help=WORKSPACE_HELP),
) -> None:
    """Write the skill as an Agent Skills folder DIRECTORY/NAME/."""

    async def work(engine):  # noqa: ANN001, ANN202
        try:
            return await engine.export(await _tenant(workspace), name, directory, version)
        except (LookupError, ValueError) as exc:
            _print(str(exc), False)

    folder = _with_engine(work)
    _print(f"Wrote {folder}")


@app.command("import")
def import_(
    directory: Annotated[Path, typer.Argument(exists=True, file_okay=False)],
    workspace: Annotated[str | None, typer.Option(help=WORKSPACE_HELP)] = None,
) -> None:
    """Read an Agent Skills folder (from Apprentice or another tool) as a new draft."""

    async def work(engine):  # noqa: ANN001, ANN202
        try:
            return await engine.import_folder(await _tenant(workspace), directory, None)
        except ValueError as exc:
            _print(str(exc), False)

    reply = _with_engine(work)
    _print(reply.text)
