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
CHANNEL_HELP = "a channel of the team whose skill it is (id or name); repeat for several"


def _settings():  # noqa: ANN202 - bot.cli owns settings errors
    from bot.cli import _settings as load

    return load()


def _with_engine(work: Callable[..., Awaitable[T]]) -> T:
    """Open the database, build the engine, run `work(engine)`, close everything."""
    from bot.consent.ledger import ConsentLedger
    from bot.consent.notices import Terms
    from bot.observations import ObservationStore
    from bot.storage.database import close_database, open_database
    from bot.storage.vault import Vault, load_master_key
    from skills.engine import SkillEngine

    settings = _settings()

    async def go() -> T:
        vault = Vault(load_master_key(settings))
        await open_database(settings)
        await vault.load_service_keys()
        engine = SkillEngine(
            settings=settings,
            ledger=ConsentLedger(Terms.of(settings)),
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


async def _resolve(tenant, name: str, channels: list[str] | None, as_user: str | None = None):  # noqa: ANN001, ANN202
    """The team's skill meant, as skills/scope.py decides: with --channel that team's; else
    the one of the person's channels (--as), or for the operator the only one there is."""
    from skills import scope

    picks = tuple(channels or ())
    where = scope.Where(as_user, None, picks, is_admin=as_user is None)
    found = await scope.resolve(tenant, name, where)
    if found.problem:
        _print(found.problem.replace("`/skill list`", "`apprentice skills list`"), False)
    if found.choices:
        teams = "; ".join(found.channels_named(s.team) for s in found.choices)
        first = scope.team_channels(found.choices[0].team)[0]
        _print(
            f"Several teams have a skill {name!r}: {teams}. "
            f"Pick one with --channel, e.g. --channel {found.names.get(first, first)}.",
            False,
        )
    return found


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
    channel: Annotated[list[str] | None, typer.Option(help=CHANNEL_HELP)] = None,
    workspace: str = typer.Option(None, help=WORKSPACE_HELP),
) -> None:
    """Sections, rules, contributors and runs of a skill."""

    async def work(engine):  # noqa: ANN001, ANN202
        tenant = await _tenant(workspace)
        found = await _resolve(tenant, name, channel)
        if found.skill is None:
            _print(f"There is no skill {name!r} here. `apprentice skills list` shows them.", False)
        return await engine.show(tenant, name, version, team=found.skill.team)

    reply = _with_engine(work)
    _print(reply.text, reply.ok)


@app.command("learn")
def learn(
    name: str,
    channel: Annotated[list[str] | None, typer.Option(help=CHANNEL_HELP)] = None,
    workspace: Annotated[str | None, typer.Option(help=WORKSPACE_HELP)] = None,
) -> None:
    """Learn a new draft version of a team's skill from its channels' consented messages."""

    async def work(engine):  # noqa: ANN001, ANN202
        from skills import scope

        tenant = await _tenant(workspace)
        found = await _resolve(tenant, name, channel)
        ids, _ = await scope.find_channels(tenant, channel or [])
        skill = found.skill
        if skill is not None and skill.team and set(ids) <= set(scope.team_channels(skill.team)):
            team = skill.team
        elif channel:
            team = scope.team_key(ids)
        elif skill is not None:
            team = skill.team  # the workspace-wide one
        else:
            _print(f"Name the team's channels to learn {name!r} from: --channel NAME.", False)
        return await engine.learn(tenant, name, None, team)

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
    channel: Annotated[list[str] | None, typer.Option(help=CHANNEL_HELP)] = None,
    workspace: Annotated[str | None, typer.Option(help=WORKSPACE_HELP)] = None,
) -> None:
    """Print what `/skill NAME` would answer this person."""
    platform, sep, user = as_.partition(":")
    if not sep or not user:
        out.print("[red]--as must be PLATFORM:USER[/red], e.g. --as console:alice")
        raise typer.Exit(2)
    text = input_file.read_text(encoding="utf-8") if input_file else ""

    async def work(engine):  # noqa: ANN001, ANN202
        from skills.kinds import BUILTIN

        tenant = await _tenant(workspace or platform)
        found = await _resolve(tenant, name.lower(), channel, as_user=user)
        team = found.skill.team if found.skill is not None else found.team
        if team is None and name.lower() in BUILTIN:
            _print(f"Which team's {name!r}? Name a channel of {user}'s with --channel.", False)
        if team is None:
            return None
        return await engine.run(tenant, name.lower(), user, input_text=text, week=week, team=team)

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
    channel: Annotated[list[str] | None, typer.Option(help=CHANNEL_HELP)] = None,
    workspace: str = typer.Option(None, help=WORKSPACE_HELP),
) -> None:
    """Write the skill as an Agent Skills folder DIRECTORY/NAME/."""

    async def work(engine):  # noqa: ANN001, ANN202
        tenant = await _tenant(workspace)
        found = await _resolve(tenant, name, channel)
        if found.skill is None:
            _print(f"There is no skill {name!r} here. `apprentice skills list` shows them.", False)
        try:
            return await engine.export(tenant, name, directory, version, team=found.skill.team)
        except (LookupError, ValueError) as exc:
            _print(str(exc), False)

    folder = _with_engine(work)
    _print(f"Wrote {folder}")


@app.command("import")
def import_(
    directory: Annotated[Path, typer.Argument(exists=True, file_okay=False)],
    channel: Annotated[
        list[str] | None, typer.Option(help=CHANNEL_HELP + " (default: workspace-wide)")
    ] = None,
    workspace: Annotated[str | None, typer.Option(help=WORKSPACE_HELP)] = None,
) -> None:
    """Read an Agent Skills folder (from Apprentice or another tool) as a new draft."""

    async def work(engine):  # noqa: ANN001, ANN202
        from skills import scope

        tenant = await _tenant(workspace)
        ids, unknown = await scope.find_channels(tenant, channel or [])
        if unknown:
            _print(f"No channel {', '.join(unknown)} in this workspace.", False)
        try:
            return await engine.import_folder(tenant, directory, None, team=scope.team_key(ids))
        except ValueError as exc:
            _print(str(exc), False)

    reply = _with_engine(work)
    _print(reply.text)
