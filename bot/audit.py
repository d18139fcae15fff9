"""The audit log: an HMAC chain of content-free entries with pseudonymous ids.

Each entry's MAC covers the previous entry's MAC, so editing, removing or reordering
any entry breaks verification from that point on. Erasing a person never edits it.

Three more things make the chain hard to cut short or fork:

- **The head** (`audit_head`): the last entry's id and MAC and the number of entries, MACed
  with the same key and rewritten in the same transaction as each entry. Deleting the last
  rows, or all of them, leaves a head that no longer matches the chain.
- **One writer at a time, across processes**: each entry is written in a transaction that
  first takes a database lock (PostgreSQL: `pg_advisory_xact_lock`; SQLite: the database's
  write lock, taken by the transaction's first statement), so two workers never both append
  after the same entry.
- **Signed checkpoints**: every `checkpoint_every` entries (and on `apprentice audit
  checkpoint`) a line with the head, signed with an Ed25519 key, is appended to a file an
  admin can copy elsewhere. Someone who can rewrite the database — head included — cannot
  make it match a checkpoint taken before, nor sign a new one.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from bot.settings import Settings
from bot.storage.models import AuditEntry, AuditHead
from bot.storage.vault import AUDIT, Vault

log = structlog.get_logger(__name__)

GENESIS = "0" * 64
HEAD_ID = 1
# pg_advisory_xact_lock's key for "the audit chain" (any constant shared by all processes).
_PG_LOCK_KEY = 0x61756469745F6C67  # b"audit_lg"
NEW, UPGRADE, RECREATED = "new", "upgrade", "recreated"


def pseudonym(key: bytes, platform: str, tenant: str, user_id: str) -> str:
    """A stable, non-reversible id for a person in the audit log."""
    digest = hmac.new(key, f"{platform}|{tenant}|{user_id}".encode(), hashlib.sha256)
    return "p-" + digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Verification:
    entries: int
    first_bad_id: int | None
    problem: str | None = None  # a sentence for the admin; never any entry's content

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None and self.problem is None

    @property
    def verdict(self) -> str:
        """`intact`, `BROKEN at entry N` or `BROKEN` (then `problem` says why)."""
        if self.ok:
            return "intact"
        return "BROKEN" if self.first_bad_id is None else f"BROKEN at entry {self.first_bad_id}"


def public_key_text(signing_seed: bytes) -> str:
    """The checkpoint signing key's public half, base64 (what an admin keeps elsewhere)."""
    public = Ed25519PrivateKey.from_private_bytes(signing_seed).public_key()
    return base64.b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


class AuditLog:
    def __init__(
        self,
        mac_key: bytes,
        pseudonym_key: bytes,
        *,
        signing_seed: bytes | None = None,
        checkpoint_file: Path | None = None,
        checkpoint_every: int = 100,
    ) -> None:
        self._mac_key = mac_key
        self._pseudonym_key = pseudonym_key
        self._signer = (
            Ed25519PrivateKey.from_private_bytes(signing_seed) if signing_seed is not None else None
        )
        self._checkpoint_file = checkpoint_file
        self._checkpoint_every = checkpoint_every
        self._lock = asyncio.Lock()  # this process's writers queue here, not on the database

    def pseudonym(self, platform: str, tenant: str, user_id: str) -> str:
        return pseudonym(self._pseudonym_key, platform, tenant, user_id)

    async def ensure_head(self, *, fresh_keys: bool) -> None:
        """At start-up: give a new (or just upgraded) log its head; never replace a lost one.

        `fresh_keys` says the audit key was made by this start. Without it a missing head
        means someone removed it, which verify() must go on reporting.
        """
        if not fresh_keys or await AuditHead.exists(id=HEAD_ID):
            return
        async with in_transaction() as conn:
            await _lock_chain(conn)
            if await AuditHead.filter(id=HEAD_ID).using_db(conn).exists():
                return
            last = await AuditEntry.all().using_db(conn).order_by("-id").first()
            count = await AuditEntry.all().using_db(conn).count()
            await self._write_head(conn, None, last, count, UPGRADE if last else NEW)

    async def record(
        self,
        platform: str,
        tenant: str,
        action: str,
        actor_id: str,
        subject_id: str | None = None,
        **detail: Any,
    ) -> AuditEntry:
        """Append an entry. `detail` must hold no message text (ids, counts, names of things)."""
        async with self._lock, in_transaction() as conn:
            await _lock_chain(conn)
            head = await AuditHead.filter(id=HEAD_ID).using_db(conn).first()
            last = await AuditEntry.all().using_db(conn).order_by("-id").first()
            entry = AuditEntry(
                tenant_key=f"{platform}:{tenant}",
                occurred_at=datetime.now(UTC).replace(microsecond=0),
                action=action,
                actor=self.pseudonym(platform, tenant, actor_id),
                subject=self.pseudonym(platform, tenant, subject_id) if subject_id else None,
                detail=detail,
                prev_mac=last.mac if last else GENESIS,
            )
            entry.mac = self._mac(entry)
            await entry.save(using_db=conn)
            if head is None:
                # No head: a log that was empty until now (another process's start-up
                # had not written it yet) gets a new one; a log with entries lost its
                # head, which the head then says for good.
                count = await AuditEntry.all().using_db(conn).count()
                if count > 1:
                    log.warning("audit.head_missing", entry=entry.id)
                await self._write_head(conn, None, entry, count, NEW if count == 1 else RECREATED)
            else:
                await self._write_head(conn, head, entry, head.entries + 1, head.reason)
        if self._checkpoint_every and entry.id % self._checkpoint_every == 0:
            await self.checkpoint()
        return entry

    async def recent(self, platform: str, tenant: str, limit: int) -> list[AuditEntry]:
        rows = (
            await AuditEntry.filter(tenant_key=f"{platform}:{tenant}").order_by("-id").limit(limit)
        )
        return list(reversed(rows))

    # -- checkpoints -------------------------------------------------------------------------

    async def checkpoint(self) -> dict[str, Any] | None:
        """Append a signed copy of the head to the checkpoint file; None without one."""
        if self._signer is None or self._checkpoint_file is None:
            return None
        head = await AuditHead.get_or_none(id=HEAD_ID)
        if head is None:
            return None
        body = {
            "entries": head.entries,
            "last_entry_id": head.last_entry_id,
            "last_mac": head.last_mac,
            "at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        }
        line = dict(body, signature=base64.b64encode(self._signer.sign(_canonical(body))).decode())
        path = self._checkpoint_file
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as handle:
            handle.write(json.dumps(line, sort_keys=True) + "\n")
        return line

    # -- verification ------------------------------------------------------------------------

    async def verify(
        self, checkpoints: Path | None = None, public_key: str | None = None
    ) -> Verification:
        """Walk the chain, compare its end with the head, and with each signed checkpoint.

        `checkpoints` defaults to this log's checkpoint file (when it exists); `public_key`
        (base64) to the public half of this log's signing key.
        """
        prev = GENESIS
        count = 0
        last: AuditEntry | None = None
        macs: dict[int, tuple[int, str]] = {}  # entry id -> (position, mac), for checkpoints
        async for entry in AuditEntry.all().order_by("id"):
            count += 1
            if entry.prev_mac != prev:
                return Verification(
                    count,
                    entry.id,
                    f"entry #{entry.id} does not follow the one before it: an entry between "
                    "them was removed, or the order was changed",
                )
            if not hmac.compare_digest(entry.mac, self._mac(entry)):
                return Verification(count, entry.id, f"entry #{entry.id} was altered")
            prev, last = entry.mac, entry
            macs[entry.id] = (count, entry.mac)
        problem = await self._check_head(last, count)
        if problem is not None:
            return problem
        return self._check_checkpoints(macs, last, count, checkpoints, public_key)

    async def _check_head(self, last: AuditEntry | None, count: int) -> Verification | None:
        head = await AuditHead.get_or_none(id=HEAD_ID)
        end = f"#{last.id}" if last else "nothing"
        if head is None:
            return Verification(
                count,
                None,
                "the chain's head is missing: the log was deleted or replaced "
                f"(it now holds {count} entries, ending at {end})",
            )
        if not hmac.compare_digest(head.mac, self._head_mac(head)):
            return Verification(count, None, "the chain's head was altered")
        if (
            head.entries != count
            or head.last_entry_id != (last.id if last else 0)
            or (head.last_mac != (last.mac if last else GENESIS))
        ):
            first_missing = head.last_entry_id if count < head.entries else None
            return Verification(
                count,
                first_missing,
                f"the log was cut short: its head records {head.entries} entries ending at "
                f"#{head.last_entry_id}, but {count} remain, ending at {end}",
            )
        if head.reason == RECREATED:
            return Verification(
                count,
                None,
                "the chain's head went missing and was recreated: what came before the "
                "entry that recreated it cannot be vouched for",
            )
        return None

    def _check_checkpoints(
        self,
        macs: dict[int, tuple[int, str]],
        last: AuditEntry | None,
        count: int,
        checkpoints: Path | None,
        public_key: str | None,
    ) -> Verification:
        path = checkpoints or self._checkpoint_file
        if path is None or not path.exists():
            return Verification(count, None)
        verifier = _verifier(public_key, self._signer)
        if verifier is None:
            return Verification(count, None, "no public key to check the checkpoints with")
        for number, text in enumerate(path.read_text().splitlines(), start=1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
                body = {k: line[k] for k in ("entries", "last_entry_id", "last_mac", "at")}
                verifier.verify(base64.b64decode(line["signature"]), _canonical(body))
            except (ValueError, KeyError, TypeError, InvalidSignature):
                return Verification(
                    count, None, f"checkpoint line {number} of {path} is not validly signed"
                )
            position, mac = macs.get(body["last_entry_id"], (0, ""))
            if position != body["entries"] or not hmac.compare_digest(mac, str(body["last_mac"])):
                return Verification(
                    count,
                    int(body["last_entry_id"]),
                    f"the checkpoint of {body['at']} vouches for {body['entries']} entries "
                    f"ending at #{body['last_entry_id']}, which the log no longer holds",
                )
        return Verification(count, None)

    # -- MACs --------------------------------------------------------------------------------

    async def _write_head(
        self,
        conn: BaseDBAsyncClient,
        head: AuditHead | None,
        last: AuditEntry | None,
        count: int,
        reason: str,
    ) -> None:
        if head is None:
            head = AuditHead(id=HEAD_ID)
        head.last_entry_id = last.id if last else 0
        head.last_mac = last.mac if last else GENESIS
        head.entries = count
        head.reason = reason
        head.mac = self._head_mac(head)
        await head.save(using_db=conn)

    def _head_mac(self, head: AuditHead) -> str:
        body = _canonical(["head", head.last_entry_id, head.entries, head.last_mac, head.reason])
        return hmac.new(self._mac_key, body, hashlib.sha256).hexdigest()

    def _mac(self, entry: AuditEntry) -> str:
        body = json.dumps(
            [
                entry.prev_mac,
                entry.tenant_key,
                entry.occurred_at.astimezone(UTC).isoformat(),
                entry.action,
                entry.actor,
                entry.subject,
                entry.detail,
            ],
            sort_keys=True,
            separators=(",", ":"),
        )
        return hmac.new(self._mac_key, body.encode(), hashlib.sha256).hexdigest()


async def _lock_chain(conn: BaseDBAsyncClient) -> None:
    """Take the chain's cross-process lock for the rest of this transaction."""
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_PG_LOCK_KEY])
    else:
        # SQLite takes its write lock at a transaction's first write and holds it to the
        # end; other processes wait for it (busy timeout) instead of reading a stale end.
        await conn.execute_query(f"UPDATE audit_head SET id = id WHERE id = {HEAD_ID}")


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _verifier(public_key: str | None, signer: Ed25519PrivateKey | None) -> Ed25519PublicKey | None:
    if public_key:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
    return signer.public_key() if signer is not None else None


async def open_audit_log(settings: Settings, vault: Vault) -> AuditLog:
    """The audit log with this install's keys and checkpoint file (service keys loaded)."""
    audit = AuditLog(
        vault.audit_key,
        vault.pseudonym_key,
        signing_seed=vault.audit_signing_seed,
        checkpoint_file=settings.checkpoint_file,
        checkpoint_every=settings.audit_checkpoint_every,
    )
    await audit.ensure_head(fresh_keys=AUDIT in vault.created_service_keys)
    return audit
