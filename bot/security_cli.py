"""`apprentice audit …` and `apprentice keys …`: the audit log's checks and the master key."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from bot.settings import Settings

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
keys_app = typer.Typer(help="The master key and the keys it wraps.", no_args_is_help=True)
out = Console()
T = TypeVar("T")


def _settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            out.print(f"[red]Setting {where}: {error['msg']}[/red]")
        raise typer.Exit(2) from None
    from bot.logging import configure  # noqa: PLC0415 - keeps `--help` fast

    configure(settings.log_level, settings.log_format)
    return settings


def _with_database(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    from bot.storage.database import close_database, open_database  # noqa: PLC0415

    async def go() -> T:
        await open_database(settings)
        try:
            return await work()
        finally:
            await close_database()

    return asyncio.run(go())


@audit_app.command("verify")
def audit_verify(
    checkpoints: Annotated[
        Path | None,
        typer.Option(help="a checkpoint file kept elsewhere (default: the configured one)"),
    ] = None,
    public_key: Annotated[
        str | None,
        typer.Option(help="the checkpoint key kept elsewhere (`apprentice audit public-key`)"),
    ] = None,
) -> None:
    """Check the chain, its head and the signed checkpoints; name the first bad entry."""
    from bot.audit import open_audit_log  # noqa: PLC0415
    from bot.storage.models import AuditEntry  # noqa: PLC0415
    from bot.storage.vault import Vault, VaultError, load_master_key  # noqa: PLC0415

    settings = _settings()

    async def work() -> bool:
        vault = Vault(load_master_key(settings))
        await vault.load_service_keys()
        audit = await open_audit_log(settings, vault)
        result = await audit.verify(checkpoints, public_key)
        if result.ok:
            out.print(f"[green]Audit chain intact[/green]: {result.entries} entries.")
            return True
        if result.first_bad_id is not None:
            entry = await AuditEntry.get_or_none(id=result.first_bad_id)
            where = f"entry #{result.first_bad_id}"
            if entry is not None:
                where += f" ({entry.action}, {entry.occurred_at:%Y-%m-%d %H:%M:%S} UTC)"
            out.print(f"[red]Audit chain BROKEN at {where}[/red]")
        else:
            out.print("[red]Audit chain BROKEN[/red]")
        out.print(f"{result.problem} (checked {result.entries} entries).")
        return False

    try:
        ok = _with_database(settings, work)
    except VaultError as exc:
        out.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if not ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Append a signed checkpoint of the chain's head to the checkpoint file now."""
    from bot.audit import open_audit_log  # noqa: PLC0415
    from bot.storage.vault import Vault, load_master_key  # noqa: PLC0415

    settings = _settings()

    async def work() -> dict[str, object] | None:
        vault = Vault(load_master_key(settings))
        await vault.load_service_keys()
        return await (await open_audit_log(settings, vault)).checkpoint()

    line = _with_database(settings, work)
    if line is None:
        out.print("[red]The audit log has no head yet: start Apprentice once first.[/red]")
        raise typer.Exit(1)
    out.print(
        f"Checkpoint of {line['entries']} entries written to {settings.checkpoint_file}; "
        "copy that file somewhere this server cannot write."
    )


@audit_app.command("public-key")
def audit_public_key() -> None:
    """Print the public key that checks the checkpoints (keep a copy away from this server)."""
    from bot.audit import public_key_text  # noqa: PLC0415
    from bot.storage.vault import Vault, load_master_key  # noqa: PLC0415

    settings = _settings()

    async def work() -> str:
        vault = Vault(load_master_key(settings))
        await vault.load_service_keys()
        return public_key_text(vault.audit_signing_seed)

    out.print(_with_database(settings, work))


@keys_app.command("rotate")
def keys_rotate(
    new_key_file: Annotated[
        Path | None,
        typer.Option(help="with APPRENTICE_MASTER_KEY set: where to write the new key (0600)"),
    ] = None,
) -> None:
    """Re-wrap every data key and service key under a new master key. Stop Apprentice first."""
    from bot.storage import key_rotation as kr  # noqa: PLC0415
    from bot.storage.vault import (  # noqa: PLC0415
        Vault,
        VaultError,
        load_master_key,
        read_key_file,
        write_key_file,
    )

    settings = _settings()

    async def from_environment() -> str:
        assert settings.master_key is not None
        if new_key_file is None:
            raise VaultError(
                "APPRENTICE_MASTER_KEY is set, so the new key cannot replace it here: "
                "give --new-key-file PATH to write the new key to"
            )
        old = Vault(load_master_key(settings))
        await old.load_service_keys()
        new_key = kr.new_master_key()
        write_key_file(new_key_file, new_key)
        done = await kr.rewrap_all(old, Vault(new_key))
        return (
            f"Re-wrapped {done.people} data keys and {done.service_keys} service keys. Set "
            f"APPRENTICE_MASTER_KEY to the contents of {new_key_file} before starting "
            "Apprentice, then delete that file; the old key no longer opens anything."
        )

    async def from_key_file() -> str:
        key_file = settings.key_file
        if not key_file.exists():
            raise VaultError(f"there is no master key at {key_file} yet: nothing to rotate")
        current = Vault(read_key_file(key_file))
        pending = kr.pending_next_key(key_file)
        if pending is not None and not await kr.opens_the_database(current):
            if not await kr.opens_the_database(Vault(pending)):
                raise VaultError(
                    f"neither {key_file.name} nor {key_file.name}.next opens this database"
                )
            kr.finish_key_file(key_file)  # the database was done; only the rename was left
            return f"Finished an interrupted rotation: {key_file} holds the new key."
        await current.load_service_keys()
        if pending is None:
            pending = kr.new_master_key()
            write_key_file(kr.next_key_path(key_file), pending)
        done = await kr.rewrap_all(current, Vault(pending))
        kr.finish_key_file(key_file)
        return (
            f"Re-wrapped {done.people} data keys and {done.service_keys} service keys under a "
            f"new master key in {key_file}. Back it up now; the old key no longer opens anything."
        )

    work = from_environment if settings.master_key is not None else from_key_file
    try:
        message = _with_database(settings, work)
    except VaultError as exc:
        out.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    out.print(f"[green]{message}[/green]")
