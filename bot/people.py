"""People who opted in: their row holds their wrapped data key."""

from __future__ import annotations

import uuid

from bot.events import Actor
from bot.storage.models import Person, Tenant
from bot.storage.vault import Vault


class People:
    def __init__(self, vault: Vault) -> None:
        self._vault = vault

    async def ensure(self, tenant: Tenant, actor: Actor) -> Person:
        """The person's row, made with a fresh data key on their first grant."""
        person = await Person.get_or_none(tenant=tenant, user_id=actor.id)
        if person is not None:
            return person
        person_id = uuid.uuid4()
        return await Person.create(
            id=person_id,
            tenant=tenant,
            user_id=actor.id,
            display_name=actor.name[:200],
            locale=actor.locale,
            wrapped_key=self._vault.new_wrapped_key(key_ref(tenant.id, person_id)),
        )

    async def find(self, tenant: Tenant, user_id: str) -> Person | None:
        return await Person.get_or_none(tenant=tenant, user_id=user_id)


def key_ref(tenant_id: int, person_id: uuid.UUID) -> str:
    """What a person's wrapped data key is bound to."""
    return f"{tenant_id}|{person_id}"
