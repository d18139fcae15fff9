"""The consent ledger: append-only grants and withdrawals, and the questions asked of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from bot.consent.changes import Change, ConsentChanges
from bot.consent.notices import Notice, Purpose, current_version
from bot.storage.models import ConsentEvent, ConsentPrompt, Tenant

GRANT = "grant"
WITHDRAW = "withdraw"
DECLINE = "decline"  # "No thanks" to a notice: also ends a grant in force
ALL_CHANNELS = "*"


@dataclass(frozen=True, slots=True)
class Mechanism:
    """How the person said it: `button:consent.agree`, `command:optout`, … and the event id."""

    kind: str
    ref: str


class ConsentLedger:
    def __init__(self, changes: ConsentChanges | None = None) -> None:
        self.changes = changes or ConsentChanges()  # the gates' views hear of every answer

    async def grant(
        self,
        tenant: Tenant,
        user_id: str,
        notice: Notice,
        mechanism: Mechanism,
        channels: list[str] | None = None,
    ) -> ConsentEvent:
        return await self._answer(GRANT, tenant, user_id, notice, mechanism, channels)

    async def decline(
        self, tenant: Tenant, user_id: str, notice: Notice, mechanism: Mechanism
    ) -> ConsentEvent:
        return await self._answer(DECLINE, tenant, user_id, notice, mechanism, None)

    async def _answer(
        self,
        action: str,
        tenant: Tenant,
        user_id: str,
        notice: Notice,
        mechanism: Mechanism,
        channels: list[str] | None,
    ) -> ConsentEvent:
        answer = await ConsentEvent.create(
            tenant=tenant,
            user_id=user_id,
            action=action,
            purpose=notice.purpose.value,
            channels=channels or [ALL_CHANNELS],
            notice_version=notice.version,
            notice_sha256=notice.sha256,
            language=notice.language,
            occurred_at=datetime.now(UTC),
            mechanism=mechanism.kind,
            mechanism_ref=mechanism.ref,
        )
        await self.changes.announce(Change(tenant.id, user_id=user_id))
        return answer

    async def withdraw(
        self,
        tenant: Tenant,
        user_id: str,
        purpose: Purpose,
        mechanism: Mechanism,
        by_admin: str | None = None,
    ) -> ConsentEvent | None:
        """Append a withdrawal when there is something to withdraw; None otherwise."""
        latest = await self._latest(tenant, user_id, purpose)
        if latest is None or latest.action != GRANT:
            return None
        withdrawal = await ConsentEvent.create(
            tenant=tenant,
            user_id=user_id,
            action=WITHDRAW,
            purpose=purpose.value,
            channels=latest.channels,
            notice_version=latest.notice_version,
            notice_sha256=latest.notice_sha256,
            language=latest.language,
            occurred_at=datetime.now(UTC),
            mechanism=mechanism.kind,
            mechanism_ref=mechanism.ref,
            by_admin=by_admin,
        )
        await self.changes.announce(Change(tenant.id, user_id=user_id))
        return withdrawal

    async def live_grant(
        self, tenant: Tenant, user_id: str, purpose: Purpose = Purpose.OBSERVE
    ) -> ConsentEvent | None:
        """The grant in force: the latest event is a grant to the current notice version."""
        latest = await self._latest(tenant, user_id, purpose)
        if latest is None or latest.action != GRANT:
            return None
        if latest.notice_version != current_version(purpose):
            return None
        return latest

    async def covers(
        self, tenant: Tenant, user_id: str, channel_id: str, purpose: Purpose = Purpose.OBSERVE
    ) -> bool:
        grant = await self.live_grant(tenant, user_id, purpose)
        return grant is not None and (
            ALL_CHANNELS in grant.channels or channel_id in grant.channels
        )

    async def has_answered(self, tenant: Tenant, user_id: str, purpose: Purpose) -> bool:
        """Whether the person ever answered the current notice (yes, no or later withdrew)."""
        return await ConsentEvent.exists(
            tenant=tenant,
            user_id=user_id,
            purpose=purpose.value,
            notice_version=current_version(purpose),
        )

    async def mark_prompted(self, tenant: Tenant, user_id: str, purpose: Purpose) -> bool:
        """Record that we asked; False when we already asked for this notice version."""
        asked: dict[str, Any] = {
            "tenant": tenant,
            "user_id": user_id,
            "purpose": purpose.value,
            "notice_version": current_version(purpose),
        }
        if await ConsentPrompt.exists(**asked):  # the common case: read, don't write
            return False
        try:
            await ConsentPrompt.create(
                tenant=tenant,
                user_id=user_id,
                purpose=purpose.value,
                notice_version=current_version(purpose),
            )
        except IntegrityError:
            return False
        return True

    async def history(self, tenant: Tenant, user_id: str) -> list[ConsentEvent]:
        return await ConsentEvent.filter(tenant=tenant, user_id=user_id).order_by("id")

    async def _latest(self, tenant: Tenant, user_id: str, purpose: Purpose) -> ConsentEvent | None:
        return (
            await ConsentEvent.filter(tenant=tenant, user_id=user_id, purpose=purpose.value)
            .order_by("-id")
            .first()
        )
