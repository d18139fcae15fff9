"""Tenants and channels: the workspace facts every other part looks up."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError

from bot.consent.changes import Change, ConsentChanges
from bot.storage.models import Channel, Tenant


class Directory:
    def __init__(self, changes: ConsentChanges | None = None) -> None:
        self.changes = changes or ConsentChanges()  # the gates' views hear of every change
        self._tenants: dict[tuple[str, str], Tenant] = {}  # tenants are never deleted
        # Tenant ids that are the first of their platform. Tenants are never deleted and
        # ids only grow, so a workspace that is (or is not) the first stays so.
        self._first: dict[int, bool] = {}

    async def tenant(self, platform: str, external_id: str) -> Tenant:
        key = (platform, external_id)
        if key not in self._tenants:
            try:
                tenant, _ = await Tenant.get_or_create(platform=platform, external_id=external_id)
            except IntegrityError:  # created by a concurrent worker
                tenant = await Tenant.get(platform=platform, external_id=external_id)
            await self._note_first(tenant)
            self._tenants[key] = tenant
        return self._tenants[key]

    async def find_tenant(self, platform: str, external_id: str) -> Tenant | None:
        if (platform, external_id) in self._tenants:
            return self._tenants[(platform, external_id)]
        tenant = await Tenant.get_or_none(platform=platform, external_id=external_id)
        if tenant is not None:
            await self._note_first(tenant)
        return tenant

    def is_first_workspace(self, tenant: Tenant) -> bool:
        """Whether `tenant` is its platform's first workspace (False when not looked up)."""
        return self._first.get(tenant.id, False)

    async def _note_first(self, tenant: Tenant) -> None:
        if tenant.id not in self._first:
            earlier = await Tenant.filter(platform=tenant.platform, id__lt=tenant.id).exists()
            self._first[tenant.id] = not earlier

    async def observed_channel(self, tenant: Tenant, channel_id: str) -> Channel | None:
        return await Channel.get_or_none(tenant=tenant, channel_id=channel_id, observed=True)

    async def observe(
        self, tenant: Tenant, channel_id: str, name: str, approved_by: str
    ) -> tuple[Channel, bool]:
        """Mark a channel observed; returns (channel, whether it was newly observed)."""
        channel, _ = await Channel.get_or_create(
            tenant=tenant, channel_id=channel_id, defaults={"name": name}
        )
        if channel.observed:
            return channel, False
        channel.observed = True
        channel.name = name or channel.name
        channel.approved_by = approved_by
        channel.approved_at = datetime.now(UTC)
        await channel.save()
        await self.changes.announce(Change(tenant.id, channel_id=channel_id))
        return channel, True

    async def unobserve(self, tenant: Tenant, channel_id: str) -> Channel | None:
        channel = await Channel.get_or_none(tenant=tenant, channel_id=channel_id, observed=True)
        if channel is None:
            return None
        channel.observed = False
        await channel.save(update_fields=["observed"])
        await self.changes.announce(Change(tenant.id, channel_id=channel_id))
        return channel

    async def observed_channels(self, tenant: Tenant) -> list[Channel]:
        return await Channel.filter(tenant=tenant, observed=True).order_by("name")
