"""The `apprentice` command line."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from bot.composition import cli_apps
from bot.roles import Role, RoleError, duties_of
from bot.security_cli import audit_app, keys_app
from bot.settings import Settings

app = typer.Typer(
    help="Apprentice: a chat bot that learns a team's work only with consent.",
    pretty_exceptions_show_locals=False,
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
import_app = typer.Typer(
    help="Import platform history exports (consent-enforced).", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")
app.add_typer(import_app, name="import")
for _name, _sub_app in cli_apps():
    app.add_typer(_sub_app, name=_name)
out = Console()


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            out.print(f"[red]Setting {where}: {error['msg']}[/red]")
        raise typer.Exit(2) from None


def _configure_logging(settings: Settings) -> None:
    from bot.logging import configure

    configure(settings.log_level, settings.log_format)


@app.command()
def run(
    role: Annotated[
        Role,
        typer.Option(
            envvar="APPRENTICE_ROLE",
            help="gateway: receive and enqueue only; worker: run the pipeline; scheduler: "
            "the skill schedules (one at a time); all: everything in this process.",
        ),
    ] = Role.ALL,
) -> None:
    """Start the bot: adapters with credentials, the web console, the bus."""
    from bot.app import run_forever

    settings = _settings()
    try:
        duties_of(role, settings)
    except RoleError as exc:
        out.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    _configure_logging(settings)
    out.print(f"Apprentice console: [bold]http://{settings.web_host}:{settings.web_port}[/bold]")
    lost = False
    with contextlib.suppress(KeyboardInterrupt):
        lost = asyncio.run(run_forever(settings, role))
    if lost:  # e.g. the scheduler lost its lock: exit so the supervisor starts it again
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations."""
    from bot.storage.database import close_database, upgrade

    settings = _settings()
    _configure_logging(settings)

    async def go() -> None:
        try:
            await upgrade(settings)
        finally:
            await close_database()

    asyncio.run(go())
    out.print("Database schema is up to date.")


@app.command("admin-link")
def admin_link(
    who: Annotated[
        str,
        typer.Option("--as", help="the admin, as PLATFORM:WORKSPACE:USER (console:local:admin)"),
    ],
) -> None:
    """Print a one-time sign-in link to the admin pages (works once, for 10 minutes)."""
    from bot.web.admin_link import print_admin_link

    settings = _settings()
    _configure_logging(settings)
    if not asyncio.run(print_admin_link(settings, who, out)):
        raise typer.Exit(1)


@app.command("privacy-report")
def privacy_report(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write it here instead of printing")
    ] = None,
) -> None:
    """What a works council or a DPIA/PIPIA needs, from this configuration and database:
    purposes, notices with their hashes, data, retention, recipients, safeguards, counts."""
    from bot.privacy_report import render
    from bot.storage.database import close_database, open_database

    settings = _settings()
    _configure_logging(settings)

    async def go() -> str:
        await open_database(settings)
        try:
            return await render(settings)
        finally:
            await close_database()

    report = asyncio.run(go())
    if output is None:
        print(report)
    else:
        output.write_text(report, "utf-8")
        out.print(f"Wrote {output}.")


@app.command()
def doctor() -> None:
    """Print effective settings (secrets masked), adapters that would start, database status."""
    settings = _settings()
    table = Table(title="Effective settings", show_lines=False)
    table.add_column("setting")
    table.add_column("value")
    for name, value in settings.masked().items():
        table.add_row(name, value)
    out.print(table)
    adapters = ", ".join(settings.enabled_adapters()) or "none"
    out.print(f"Adapters that would start: [bold]{adapters}[/bold]")
    ok, detail = asyncio.run(_check_database(settings))
    colour = "green" if ok else "red"
    out.print(f"Database: [{colour}]{detail}[/{colour}]")
    if settings.bus == "redis":
        redis_ok, detail = asyncio.run(_check_redis(settings))
        colour = "green" if redis_ok else "red"
        out.print(f"Redis bus: [{colour}]{detail}[/{colour}]")
        ok = ok and redis_ok
    if not ok:
        raise typer.Exit(1)


async def _check_redis(settings: Settings) -> tuple[bool, str]:
    from redis import asyncio as aioredis

    client = aioredis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=5)
    try:
        await client.ping()
    except Exception as exc:  # the kind of failure is what the operator needs
        return False, f"not reachable ({type(exc).__name__}); check REDIS_URL"
    finally:
        await client.aclose()
    return True, "reachable"


async def _check_database(settings: Settings) -> tuple[bool, str]:
    from tortoise import Tortoise

    from bot.storage.database import tortoise_config

    try:
        # asyncio.timeout, not wait_for: tortoise keeps its context in this task.
        async with asyncio.timeout(10):
            await Tortoise.init(config=tortoise_config(settings))
            await Tortoise.get_connection("default").execute_query("SELECT 1")
    except Exception as exc:  # the kind of failure is what the operator needs
        return False, f"not reachable ({type(exc).__name__}); check DATABASE_URL"
    finally:
        await Tortoise.close_connections()
    where = f"SQLite {settings.sqlite_path}" if settings.is_sqlite else "PostgreSQL"
    return True, f"reachable ({where})"


@import_app.command("slack-export")
def import_slack_export(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="the export .zip")],
) -> None:
    """Import a Slack workspace export: only observed channels, only people who agreed."""
    from adapters.slack.export import run_import

    settings = _settings()
    _configure_logging(settings)
    run_import(settings, path, out)


@import_app.command("messages")
def import_messages(
    path: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="a .jsonl file, one message a line")
    ],
) -> None:
    """Import messages from any tool: one JSON object per line (see README, Importing history)."""
    from bot.imports.jsonl import run_import

    settings = _settings()
    _configure_logging(settings)
    run_import(settings, path, out)


@import_app.command("lark")
def import_lark(
    chat_ids: Annotated[list[str], typer.Argument(help="Lark/Feishu chat ids (oc_…)")],
) -> None:
    """Import Lark/Feishu chat history: only observed chats, only people who agreed."""
    from adapters.lark.history import run_import

    settings = _settings()
    _configure_logging(settings)
    run_import(settings, chat_ids, out)


@import_app.command("mail")
def import_mail(
    path: Annotated[Path, typer.Argument(exists=True, help="an .mbox file or a folder of .eml")],
    channel: Annotated[
        str, typer.Option("--channel", help="the observed channel the mailbox belongs to")
    ],
    platform: Annotated[
        str | None, typer.Option("--platform", help="slack, lark, dingtalk or console")
    ] = None,
) -> None:
    """Import a mailbox into one observed channel: only the linked senders' own words."""
    from bot.imports.mail import run_import

    settings = _settings()
    _configure_logging(settings)
    run_import(settings, path, channel, out, platform)


def main() -> None:
    app()
