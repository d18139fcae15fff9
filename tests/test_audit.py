"""The audit log is a tamper-evident HMAC chain with pseudonymous ids."""

from __future__ import annotations

import os

from tortoise import Tortoise

from bot.audit import AuditLog
from bot.storage.models import AuditEntry


async def log_three(audit: AuditLog) -> None:
    await audit.record("console", "local", "channel.observe", "admin", channel="team")
    await audit.record("console", "local", "consent.grant", "alice", purpose="observe")
    await audit.record("console", "local", "person.erased", "alice", "alice", observations=1)


async def test_untouched_chain_verifies(app) -> None:  # noqa: ANN001
    audit = AuditLog(os.urandom(32), os.urandom(32))
    await log_three(audit)
    result = await audit.verify()
    assert result.ok and result.entries == 3


async def test_edited_entry_breaks_the_chain_there(app) -> None:  # noqa: ANN001
    audit = AuditLog(os.urandom(32), os.urandom(32))
    await log_three(audit)
    second = await AuditEntry.all().order_by("id").offset(1).first()
    assert second is not None
    second.detail = {"purpose": "model"}
    await second.save()
    result = await audit.verify()
    assert not result.ok and result.first_bad_id == second.id


async def test_deleted_entry_breaks_the_chain(app) -> None:  # noqa: ANN001
    audit = AuditLog(os.urandom(32), os.urandom(32))
    await log_three(audit)
    await Tortoise.get_connection("default").execute_query(
        "DELETE FROM audit_entries WHERE id = (SELECT MIN(id) FROM audit_entries)"
    )
    assert not (await audit.verify()).ok


async def test_people_appear_only_as_stable_pseudonyms(app) -> None:  # noqa: ANN001
    audit = AuditLog(os.urandom(32), os.urandom(32))
    await log_three(audit)
    rows = await AuditEntry.all().order_by("id")
    assert all("alice" not in (r.actor + (r.subject or "")) for r in rows)
    assert rows[1].actor == rows[2].actor == rows[2].subject
