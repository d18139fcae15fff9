"""What the admin pages show, read from the database. Every query names its tenant (inv. 9).

The skills pages are plugged in by the composition root (skills/admin_pages.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Q

from bot.consent.ledger import ConsentLedger
from bot.storage.models import (
    AuditEntry,
    Channel,
    ConsentEvent,
    Observation,
    Person,
    Tenant,
)

PAGE_SIZE = 200


def workspace_key(tenant: Tenant) -> str:
    """How a workspace is named in links and in the audit log: `platform:external_id`."""
    return f"{tenant.platform}:{tenant.external_id}"


async def all_tenants() -> list[Tenant]:
    return await Tenant.all().order_by("platform", "external_id")


async def find_tenant(key: str) -> Tenant | None:
    platform, _, external_id = key.partition(":")
    if not platform or not external_id:
        return None
    return await Tenant.get_or_none(platform=platform, external_id=external_id)


# -- overview --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Overview:
    channels: list[Channel]
    people_in_force: int
    messages_kept: int
    consent_records: int


async def overview(tenant: Tenant, ledger: ConsentLedger) -> Overview:
    people = await Person.filter(tenant=tenant).values_list("user_id", flat=True)
    return Overview(
        channels=await Channel.filter(tenant=tenant).order_by("-observed", "name"),
        people_in_force=len([u for u in people if await ledger.live_grant(tenant, str(u))]),
        messages_kept=await Observation.filter(tenant=tenant).count(),
        consent_records=await ConsentEvent.filter(tenant=tenant).count(),
    )


async def channel_names(tenant: Tenant) -> dict[str, str]:
    rows = await Channel.filter(tenant=tenant).values_list("channel_id", "name")
    return {channel_id: name for channel_id, name in rows}


# -- consent ledger and audit log ----------------------------------------------------------


async def consent_events(
    tenant: Tenant, user: str | None, before: int | None
) -> list[ConsentEvent]:
    query = ConsentEvent.filter(tenant=tenant)
    if user:
        query = query.filter(user_id=user)
    if before is not None:
        query = query.filter(id__lt=before)
    return await query.order_by("-id").limit(PAGE_SIZE)


async def ledger_users(tenant: Tenant) -> list[str]:
    rows = await ConsentEvent.filter(tenant=tenant).distinct().values_list("user_id", flat=True)
    return sorted({str(user) for user in rows})


async def audit_entries(
    tenant: Tenant, pseudonym: str | None, before: int | None
) -> list[AuditEntry]:
    query = AuditEntry.filter(tenant_key=workspace_key(tenant))
    if pseudonym:
        query = query.filter(Q(actor=pseudonym) | Q(subject=pseudonym))
    if before is not None:
        query = query.filter(id__lt=before)
    return await query.order_by("-id").limit(PAGE_SIZE)
