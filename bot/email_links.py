"""E-mail addresses people confirmed are theirs: what `apprentice import mail` matches senders by.

A link is found by a keyed hash of the address (no plaintext address to search or leak); the
address itself is kept encrypted under the person's own key, so they can list it, and
erasing them deletes the link and shreds the key. An address belongs to one person per
workspace.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime
from email.utils import parseaddr
from enum import StrEnum

from tortoise.exceptions import IntegrityError

from bot.consent.ledger import Mechanism
from bot.people import key_ref
from bot.storage.models import EmailLink, Person
from bot.storage.vault import Vault

_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z0-9-]{2,63}$")


class Linked(StrEnum):
    LINKED = "linked"
    ALREADY_YOURS = "already_yours"
    TAKEN = "taken"  # linked to someone else in this workspace


def normalize_address(text: str) -> str | None:
    """`Alice <Alice@Example.COM>` or `alice@example.com` → `alice@example.com`; None if not one."""
    _, address = parseaddr(text.strip().strip("<>"))
    address = address.strip().lower()
    return address if _ADDRESS.match(address) else None


class EmailLinks:
    def __init__(self, vault: Vault) -> None:
        self._vault = vault

    def digest(self, tenant_id: int, address: str) -> str:
        """The keyed hash an address is looked up by (within one workspace)."""
        message = f"email|{tenant_id}|{address}".encode()
        return hmac.new(self._vault.pseudonym_key, message, hashlib.sha256).hexdigest()

    async def link(self, person: Person, address: str, mechanism: Mechanism) -> Linked:
        digest = self.digest(person.tenant_id, address)
        existing = await EmailLink.get_or_none(tenant_id=person.tenant_id, address_hmac=digest)
        if existing is not None:
            return Linked.ALREADY_YOURS if existing.person_id == person.id else Linked.TAKEN
        key = self._vault.unwrap(person.wrapped_key, key_ref(person.tenant_id, person.id))
        try:
            await EmailLink.create(
                tenant_id=person.tenant_id,
                person=person,
                address_hmac=digest,
                ciphertext=self._vault.encrypt(key, address, _aad(person, digest)),
                mechanism=mechanism.kind,
                mechanism_ref=mechanism.ref[:200],
                confirmed_at=datetime.now(UTC),
            )
        except IntegrityError:  # linked by someone else at the same moment
            return Linked.TAKEN
        return Linked.LINKED

    async def unlink(self, person: Person, address: str) -> bool:
        digest = self.digest(person.tenant_id, address)
        return bool(await EmailLink.filter(person=person, address_hmac=digest).delete())

    async def addresses(self, person: Person) -> list[str]:
        """The person's own linked addresses, decrypted (for them alone)."""
        key = self._vault.unwrap(person.wrapped_key, key_ref(person.tenant_id, person.id))
        links = await EmailLink.filter(person=person).order_by("confirmed_at")
        return [
            self._vault.decrypt(key, link.ciphertext, _aad(person, link.address_hmac))
            for link in links
        ]

    async def people_by_digest(self, tenant_id: int) -> dict[str, str]:
        """address hash → the platform user id of the person it is linked to."""
        rows = await EmailLink.filter(tenant_id=tenant_id).values_list(
            "address_hmac", "person__user_id"
        )
        return {str(digest): str(user_id) for digest, user_id in rows}


def _aad(person: Person, digest: str) -> str:
    return f"email|{person.tenant_id}|{person.id}|{digest}"
