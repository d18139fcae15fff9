"""The audit log: an HMAC chain of content-free entries with pseudonymous ids.

Each entry's MAC covers the previous entry's MAC, so editing, removing or reordering
any entry breaks verification from that point on. Erasing a person never edits it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.storage.models import AuditEntry

GENESIS = "0" * 64


def pseudonym(key: bytes, platform: str, tenant: str, user_id: str) -> str:
    """A stable, non-reversible id for a person in the audit log."""
    digest = hmac.new(key, f"{platform}|{tenant}|{user_id}".encode(), hashlib.sha256)
    return "p-" + digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Verification:
    entries: int
    first_bad_id: int | None

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


class AuditLog:
    def __init__(self, mac_key: bytes, pseudonym_key: bytes) -> None:
        self._mac_key = mac_key
        self._pseudonym_key = pseudonym_key
        self._lock = asyncio.Lock()  # one writer at a time keeps the chain linear

    def pseudonym(self, platform: str, tenant: str, user_id: str) -> str:
        return pseudonym(self._pseudonym_key, platform, tenant, user_id)

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
        async with self._lock:
            last = await AuditEntry.all().order_by("-id").first()
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
            await entry.save()
            return entry

    async def recent(self, platform: str, tenant: str, limit: int) -> list[AuditEntry]:
        rows = (
            await AuditEntry.filter(tenant_key=f"{platform}:{tenant}").order_by("-id").limit(limit)
        )
        return list(reversed(rows))

    async def verify(self) -> Verification:
        prev = GENESIS
        count = 0
        async for entry in AuditEntry.all().order_by("id"):
            count += 1
            if entry.prev_mac != prev or not hmac.compare_digest(entry.mac, self._mac(entry)):
                return Verification(entries=count, first_bad_id=entry.id)
            prev = entry.mac
        return Verification(entries=count, first_bad_id=None)

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
