"""`apprentice keys rotate`: re-wrap every data key and service key under a new master key.

Nothing encrypted under a data key is touched: observations, examples and quotes keep their
ciphertexts, only the wrapped keys change, in one database transaction. The service keys keep
their values, so the audit chain and pseudonyms are the same afterwards.

With a key file the new key is written beside it as `master.key.next` before the database
changes, and renamed over `master.key` after they commit; a rotation cut short either way is
finished by running the command again (`resume_target` tells which half is done).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from tortoise.transactions import in_transaction

from bot.storage.models import Person, ServiceKey
from bot.storage.vault import KEY_BYTES, Vault, VaultError, read_key_file


@dataclass(frozen=True, slots=True)
class Rotation:
    people: int
    service_keys: int


def next_key_path(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".next")


def new_master_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


async def rewrap_all(old: Vault, new: Vault) -> Rotation:
    """Re-wrap every person's data key and service key from `old` to `new`, in one transaction."""
    from bot.people import key_ref  # noqa: PLC0415 - bot.people imports this package

    async with in_transaction() as conn:
        people = await Person.all().using_db(conn)
        for person in people:
            ref = key_ref(person.tenant_id, person.id)
            person.wrapped_key = new.wrap(old.unwrap(person.wrapped_key, ref), ref)
            await person.save(using_db=conn, update_fields=["wrapped_key"])
        keys = await ServiceKey.all().using_db(conn)
        for row in keys:
            row.wrapped = new.wrap_service_key(
                row.name, old.unwrap_service_key(row.name, row.wrapped)
            )
            await row.save(using_db=conn, update_fields=["wrapped"])
    return Rotation(people=len(people), service_keys=len(keys))


async def opens_the_database(vault: Vault) -> bool:
    """Whether `vault`'s master key unwraps the stored service keys (None stored: True)."""
    row = await ServiceKey.all().first()
    if row is None:
        return True
    try:
        vault.unwrap_service_key(row.name, row.wrapped)
    except VaultError:
        return False
    return True


def finish_key_file(key_file: Path) -> None:
    """Put `master.key.next` in place of `master.key` (atomic rename, then sync the folder)."""
    os.replace(next_key_path(key_file), key_file)
    fd = os.open(key_file.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def pending_next_key(key_file: Path) -> bytes | None:
    path = next_key_path(key_file)
    return read_key_file(path) if path.exists() else None
