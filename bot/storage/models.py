"""Database tables. Every row that belongs to a workspace carries its tenant (invariant 9)."""

from __future__ import annotations

import uuid
from typing import Any

from tortoise import fields
from tortoise.models import Model


class Tenant(Model):
    """A workspace on one platform: a Slack team, a Lark tenant, a DingTalk corp, the console."""

    id = fields.IntField(primary_key=True)
    platform = fields.CharField(max_length=32)
    external_id = fields.CharField(max_length=128)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "tenants"
        unique_together = (("platform", "external_id"),)


class Person(Model):
    """Someone who opted in at least once. Deleting the row destroys their data key."""

    id = fields.UUIDField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "apprentice.Tenant", related_name="people"
    )
    tenant_id: int
    user_id = fields.CharField(max_length=128)
    display_name = fields.CharField(max_length=200, default="")
    locale = fields.CharField(max_length=16, null=True)
    wrapped_key = fields.BinaryField()  # data key wrapped by the master key (AES-GCM)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "people"
        unique_together = (("tenant", "user_id"),)


class Channel(Model):
    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "apprentice.Tenant", related_name="channels"
    )
    tenant_id: int
    channel_id = fields.CharField(max_length=128)
    name = fields.CharField(max_length=200, default="")
    observed = fields.BooleanField(default=False)
    approved_by = fields.CharField(max_length=128, null=True)
    approved_at = fields.DatetimeField(null=True)
    notice_message_id = fields.CharField(max_length=128, null=True)

    class Meta:
        table = "channels"
        unique_together = (("tenant", "channel_id"),)


class ConsentEvent(Model):
    """Append-only: a grant or a withdrawal, with everything needed to demonstrate it."""

    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "apprentice.Tenant", related_name="consent_events"
    )
    tenant_id: int
    user_id = fields.CharField(max_length=128, db_index=True)
    action = fields.CharField(max_length=16)  # grant | decline | withdraw
    purpose = fields.CharField(max_length=32)  # observe | model | backfill
    channels: fields.JSONField[list[str]] = fields.JSONField(
        default=list
    )  # ["*"] or channel ids the grant covers
    notice_version = fields.CharField(max_length=32)
    notice_sha256 = fields.CharField(max_length=64)
    language = fields.CharField(max_length=16)
    occurred_at = fields.DatetimeField()
    mechanism = fields.CharField(max_length=64)  # e.g. button:consent.agree, command:optout
    mechanism_ref = fields.CharField(max_length=200)  # the platform event id
    by_admin = fields.CharField(max_length=128, null=True)  # set for admin revocations

    class Meta:
        table = "consent_events"


class ConsentPrompt(Model):
    """That we showed someone a notice: the unprompted DM is sent once per notice version,
    and a typed answer (`/skill optin yes`, 同意) answers the notice last shown."""

    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "apprentice.Tenant", related_name="consent_prompts"
    )
    tenant_id: int
    user_id = fields.CharField(max_length=128)
    purpose = fields.CharField(max_length=32)
    notice_version = fields.CharField(max_length=32)
    sent_at = fields.DatetimeField(auto_now_add=True)
    language = fields.CharField(max_length=16, null=True)  # the words shown, with the version
    channels: fields.JSONField[list[str]] = fields.JSONField(null=True)  # the scope shown
    message_ref = fields.CharField(max_length=200, null=True)  # the notice's message (its card)

    class Meta:
        table = "consent_prompts"
        unique_together = (("tenant", "user_id", "purpose", "notice_version"),)


class Observation(Model):
    """One consented, redacted message, encrypted under its author's data key."""

    id = fields.UUIDField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "apprentice.Tenant", related_name="observations"
    )
    tenant_id: int
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "apprentice.Person", related_name="observations", on_delete=fields.CASCADE
    )
    person_id: uuid.UUID
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "apprentice.Channel", related_name="observations", on_delete=fields.CASCADE
    )
    channel_id: int
    message_id = fields.CharField(max_length=128)
    thread_id = fields.CharField(max_length=128, null=True)
    occurred_at = fields.DatetimeField(db_index=True)
    ciphertext = fields.BinaryField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "observations"
        unique_together = (("tenant", "message_id"),)
        # One person's rows, oldest first: what mydata, the learners and erasure read.
        indexes = (("person_id", "occurred_at"),)


class ConsentGeneration(Model):
    """One row, bumped by every consent answer and channel change.

    A process whose view of grants and observed channels (bot/consent/view.py) saw another
    number reloads that view before it admits its next batch."""

    id = fields.IntField(primary_key=True)
    value = fields.BigIntField(default=0)

    class Meta:
        table = "consent_generation"


class Skill(Model):
    """A team's skill: learned from, and run for, the channels of its team (skills/scope.py)."""

    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "apprentice.Tenant", related_name="skills"
    )
    tenant_id: int
    name = fields.CharField(max_length=64)
    # The sorted platform channel ids of the team, comma-joined; "" is workspace-wide
    # (an imported skill, or one older than teams that learned from no observation).
    team = fields.CharField(max_length=1024, default="", db_default="")
    kind = fields.CharField(max_length=32)
    description = fields.CharField(max_length=1024, default="")
    owner_user_id = fields.CharField(max_length=128, null=True)  # first to learn it in the team
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "skills"
        unique_together = (("tenant", "name", "team"),)


class SkillVersion(Model):
    id = fields.IntField(primary_key=True)
    skill: fields.ForeignKeyRelation[Skill] = fields.ForeignKeyField(
        "apprentice.Skill", related_name="versions", on_delete=fields.CASCADE
    )
    skill_id: int
    number = fields.IntField()
    status = fields.CharField(max_length=16, default="draft")  # draft | published | retired
    artifact: fields.JSONField[dict[str, Any]] = fields.JSONField()
    provenance: fields.JSONField[dict[str, Any]] = fields.JSONField(
        default=dict
    )  # section/rule -> observation ids
    run_count = fields.IntField(default=0)
    created_by = fields.CharField(max_length=128, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "skill_versions"
        unique_together = (("skill", "number"),)


class SkillContribution(Model):
    """Who a skill version learned from: erasing the person deletes the row and rebuilds."""

    id = fields.IntField(primary_key=True)
    version: fields.ForeignKeyRelation[SkillVersion] = fields.ForeignKeyField(
        "apprentice.SkillVersion", related_name="contributions", on_delete=fields.CASCADE
    )
    version_id: int
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "apprentice.Person", related_name="contributions", on_delete=fields.CASCADE
    )
    person_id: uuid.UUID
    observations = fields.IntField(default=0)

    class Meta:
        table = "skill_contributions"
        unique_together = (("version", "person"),)


class AuditEntry(Model):
    """Tamper-evident (HMAC chain) and content-free: pseudonymous ids, no message text."""

    id = fields.IntField(primary_key=True)
    tenant_key = fields.CharField(max_length=200, db_index=True)  # platform:tenant
    occurred_at = fields.DatetimeField()
    action = fields.CharField(max_length=64)
    actor = fields.CharField(max_length=32)  # pseudonym
    subject = fields.CharField(max_length=32, null=True)  # pseudonym
    detail: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    prev_mac = fields.CharField(max_length=64)
    mac = fields.CharField(max_length=64)

    class Meta:
        table = "audit_entries"


class SkillExample(Model):
    """An example someone marked with `/skill teach NAME`: redacted, under their own key."""

    id = fields.IntField(primary_key=True)
    skill: fields.ForeignKeyRelation[Skill] = fields.ForeignKeyField(
        "apprentice.Skill", related_name="examples", on_delete=fields.CASCADE
    )
    skill_id: int
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "apprentice.Person", related_name="skill_examples", on_delete=fields.CASCADE
    )
    person_id: uuid.UUID
    ciphertext = fields.BinaryField()
    # the platform message a copy from a thread was taken from (its delete removes the copy)
    source_message_id = fields.CharField(max_length=128, null=True, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "skill_examples"


class SkillSchedule(Model):
    """`/skill schedule NAME fri 17:00`: re-registered with the scheduler at every start."""

    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "apprentice.Tenant", related_name="skill_schedules"
    )
    tenant_id: int
    user_id = fields.CharField(max_length=128)
    skill_name = fields.CharField(max_length=64)
    # A channel of the team whose skill runs ("" when scheduled without one: resolved as typed).
    channel = fields.CharField(max_length=128, default="", db_default="")
    day_of_week = fields.CharField(max_length=16)  # mon..sun (APScheduler cron names)
    hour = fields.IntField()
    minute = fields.IntField()
    timezone = fields.CharField(max_length=64, default="UTC")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "skill_schedules"
        unique_together = (("tenant", "user_id", "skill_name", "channel"),)


class ServiceKey(Model):
    """A key for one purpose (audit chain, pseudonyms, admin cookie, checkpoint signing).

    Random, its own, and stored wrapped by the master key: rotating the master key re-wraps
    it and leaves its value — and so the audit chain and pseudonyms — unchanged.
    """

    name = fields.CharField(max_length=32, primary_key=True)
    wrapped = fields.BinaryField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "service_keys"


class AuditHead(Model):
    """The audit chain's end (last entry, count, its MAC), MACed: truncation no longer verifies.

    One row (id 1), rewritten in the same transaction as every entry.
    """

    id = fields.IntField(primary_key=True)
    last_entry_id = fields.IntField()
    entries = fields.IntField()
    last_mac = fields.CharField(max_length=64)
    reason = fields.CharField(max_length=16)  # new | upgrade | recreated
    mac = fields.CharField(max_length=64)

    class Meta:
        table = "audit_head"


class EmailLink(Model):
    """An e-mail address a person confirmed is theirs, so `import mail` can find their mail.

    Looked up by a keyed hash of the address; the address itself is kept only encrypted under
    the person's own key (erasing them deletes the row and shreds the key).
    """

    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "apprentice.Tenant", related_name="email_links"
    )
    tenant_id: int
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "apprentice.Person", related_name="email_links", on_delete=fields.CASCADE
    )
    person_id: uuid.UUID
    address_hmac = fields.CharField(max_length=64)
    ciphertext = fields.BinaryField()
    mechanism = fields.CharField(max_length=64)  # button:email.confirm | command:link-email
    mechanism_ref = fields.CharField(max_length=200)  # the platform event id
    confirmed_at = fields.DatetimeField()

    class Meta:
        table = "email_links"
        unique_together = (("tenant", "address_hmac"),)


class ImportedUnit(Model):
    """A piece of an import source (a Slack day file, a run of JSONL lines, one mail) read in
    full under one state of consent: re-importing skips it without reading it again.

    `key` hashes the piece's identity with that state (grants, observed channels, links), so
    any change of consent makes every piece be read again. It holds no names and no text.
    """

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=64, unique=True)
    source = fields.CharField(max_length=32)  # slack-export | messages | mail
    imported_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "imported_units"


class WebLink(Model):
    """A one-time sign-in link to the web pages (bot/web/signin.py): only its hash is kept."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    kind = fields.CharField(max_length=16)  # admin | person
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "apprentice.Tenant", related_name="web_links", on_delete=fields.CASCADE
    )
    tenant_id: int
    user_id = fields.CharField(max_length=128)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "web_links"


class WebSession(Model):
    """A signed-in browser: the cookie holds a random token, this row only its hash."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    kind = fields.CharField(max_length=16)  # admin | person
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "apprentice.Tenant", related_name="web_sessions", on_delete=fields.CASCADE
    )
    tenant_id: int
    user_id = fields.CharField(max_length=128)
    csrf = fields.CharField(max_length=64)  # the token every form of this session carries
    expires_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "web_sessions"


class ScheduledRunClaim(Model):
    """One scheduled run slot (`schedule-<id>-<time>`), claimed by the scheduler that runs it:
    two schedulers overlapping (a lock changing hands) never run the same slot twice."""

    id = fields.IntField(primary_key=True)
    slot = fields.CharField(max_length=128, unique=True)
    claimed_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "scheduled_run_claims"
