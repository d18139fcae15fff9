"""The consent ledger: append-only grants and withdrawals, and the questions asked of it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from bot.consent.changes import Change, ConsentChanges
from bot.consent.notices import LANGUAGES, Notice, Purpose, Terms, notice_version, notice_with
from bot.storage.models import ConsentEvent, ConsentPrompt, Tenant

GRANT = "grant"
WITHDRAW = "withdraw"
DECLINE = "decline"  # "No thanks" to a notice: also ends a grant in force
ALL_CHANNELS = "*"
BULK_LOOKUP = 500  # people per IN (...) query


@dataclass(frozen=True, slots=True)
class Mechanism:
    """How the person said it: `button:consent.agree`, `command:optout`, … and the event id."""

    kind: str
    ref: str


class ConsentLedger:
    def __init__(self, terms: Terms, changes: ConsentChanges | None = None) -> None:
        self._terms = terms  # what today's notices say: a grant to other words is not in force
        self.changes = changes or ConsentChanges()  # the gates' views hear of every answer

    def current_version(self, purpose: Purpose) -> str:
        return notice_version(purpose, self._terms)

    def is_current(self, event: ConsentEvent) -> bool:
        """Whether `event` answered the notice shown today (same text in its language)."""
        if event.purpose not in set(Purpose) or event.language not in LANGUAGES:
            return False
        purpose = Purpose(event.purpose)
        if event.notice_version == self.current_version(purpose):
            return True
        # Grants older than versions with digests: the hash of the text is what counts.
        return event.notice_sha256 == notice_with(purpose, event.language, self._terms).sha256

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
        """The grant in force: the latest event is a grant to the notice shown today."""
        latest = await self._latest(tenant, user_id, purpose)
        if latest is None or latest.action != GRANT or not self.is_current(latest):
            return None
        return latest

    async def live_grants(
        self, tenant: Tenant, user_ids: Collection[str], purpose: Purpose
    ) -> dict[str, ConsentEvent]:
        """The grants in force for many people at once (a history import's batch)."""
        wanted, latest = list(user_ids), dict[str, ConsentEvent]()
        for start in range(0, len(wanted), BULK_LOOKUP):
            events = await ConsentEvent.filter(
                tenant=tenant,
                user_id__in=wanted[start : start + BULK_LOOKUP],
                purpose=purpose.value,
            ).order_by("id")
            latest.update((event.user_id, event) for event in events)
        return {
            user: event
            for user, event in latest.items()
            if event.action == GRANT and self.is_current(event)
        }

    async def covers(
        self, tenant: Tenant, user_id: str, channel_id: str, purpose: Purpose = Purpose.OBSERVE
    ) -> bool:
        return grant_covers(await self.live_grant(tenant, user_id, purpose), channel_id)

    async def has_answered(self, tenant: Tenant, user_id: str, purpose: Purpose) -> bool:
        """Whether the person ever answered the current notice (yes, no or later withdrew)."""
        answers = await ConsentEvent.filter(tenant=tenant, user_id=user_id, purpose=purpose.value)
        return any(self.is_current(answer) for answer in answers)

    async def mark_prompted(self, tenant: Tenant, user_id: str, purpose: Purpose) -> bool:
        """Record that we asked; False when we already asked for this notice version."""
        asked: dict[str, Any] = {
            "tenant": tenant,
            "user_id": user_id,
            "purpose": purpose.value,
            "notice_version": self.current_version(purpose),
        }
        if await ConsentPrompt.exists(**asked):  # the common case: read, don't write
            return False
        try:
            await ConsentPrompt.create(
                tenant=tenant,
                user_id=user_id,
                purpose=purpose.value,
                notice_version=self.current_version(purpose),
            )
        except IntegrityError:
            return False
        return True

    async def record_shown(
        self,
        tenant: Tenant,
        user_id: str,
        notice: Notice,
        channels: list[str],
        message_ref: str | None = None,
    ) -> None:
        """Remember the notice someone was just shown (its version, language and scope)."""
        shown: dict[str, Any] = {
            "language": notice.language,
            "channels": channels,
            "message_ref": message_ref or None,
            "sent_at": datetime.now(UTC),
        }
        asked: dict[str, Any] = {
            "tenant": tenant,
            "user_id": user_id,
            "purpose": notice.purpose.value,
            "notice_version": notice.version,
        }
        if await ConsentPrompt.filter(**asked).update(**shown):
            return
        try:
            await ConsentPrompt.create(**asked, **shown)
        except IntegrityError:  # shown twice at once: the other row says the same
            await ConsentPrompt.filter(**asked).update(**shown)

    async def last_shown(
        self, tenant: Tenant, user_id: str, purpose: Purpose | None = None
    ) -> ConsentPrompt | None:
        """The notice last shown to the person (of `purpose`, or of any purpose)."""
        query = ConsentPrompt.filter(tenant=tenant, user_id=user_id, language__not_isnull=True)
        if purpose is not None:
            query = query.filter(purpose=purpose.value)
        return await query.order_by("-sent_at", "-id").first()

    async def history(self, tenant: Tenant, user_id: str) -> list[ConsentEvent]:
        return await ConsentEvent.filter(tenant=tenant, user_id=user_id).order_by("id")

    async def _latest(self, tenant: Tenant, user_id: str, purpose: Purpose) -> ConsentEvent | None:
        return (
            await ConsentEvent.filter(tenant=tenant, user_id=user_id, purpose=purpose.value)
            .order_by("-id")
            .first()
        )


def grant_covers(grant: ConsentEvent | None, channel_id: str) -> bool:
    """Whether a grant in force covers this channel (all channels, or this one named)."""
    return grant is not None and (ALL_CHANNELS in grant.channels or channel_id in grant.channels)
