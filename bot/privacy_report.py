"""`apprentice privacy-report`: what a works council or a DPIA/PIPIA asks, from the running
configuration and the database — purposes and the exact notice texts with their hashes, data
categories, retention, recipients, where data lives, the safeguards with the tests behind
them, and counts. Never a name, an id or a message.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.consent.notices import LANGUAGES, Purpose, Terms, notice_with
from bot.settings import Settings
from bot.storage.models import AuditEntry, Channel, ConsentEvent, ConsentPrompt, Observation

PURPOSES = {
    Purpose.OBSERVE: "learn the team's recurring work from the person's own messages in "
    "channels an admin marked as observed",
    Purpose.MODEL: "send redacted excerpts of already-consented messages to the configured "
    "model provider",
    Purpose.BACKFILL: "import the person's past messages in observed channels",
}
CATEGORIES = (
    "text of messages a consenting person wrote in observed channels (redacted, encrypted "
    "with a key of their own)",
    "platform user id, display name, consent events (when, notice version and hash, "
    "mechanism), one-time prompts shown",
    "derived data: skill templates and rules; a rule's quotes and corrections sealed under "
    "their writer's key; examples a person taught; e-mail addresses a person linked",
    "audit log: actions with pseudonyms, never message text",
)
SAFEGUARDS = (
    ("nothing is kept before its author opts in; DMs are never read", "tests/test_gate.py"),
    (
        "redaction of e-mail, phone, ID, card, IBAN, SSN, passport, IP, secrets before storage",
        "tests/test_redact.py (labelled corpus ≥ 0.95 per kind)",
    ),
    ("AES-GCM per person; erasure destroys the key first", "tests/test_erasure_background.py"),
    (
        "derived data follows consent (quotes, corrections, examples, exports)",
        "tests/test_skill_derived_data.py",
    ),
    ("a changed notice asks again", "tests/test_notice_terms.py"),
    ("tamper-evident audit log with signed checkpoints", "tests/test_audit.py"),
    ("the Redis bus carries ciphertext only", "tests/test_bus_redis.py"),
    (
        "admin pages need a signed-in session; no trust in the peer address",
        "tests/test_web_signin.py",
    ),
    ("data files 0600 in a 0700 directory", "tests/test_data_files.py"),
)


async def counts() -> dict[str, int]:
    """How many people were asked, agreed, declined, withdrew, were erased (by id, never
    named), and how many channels are observed."""

    async def people_with(action: str) -> int:
        return len(
            await ConsentEvent.filter(action=action).distinct().values_list("tenant_id", "user_id")
        )

    asked = {
        *await ConsentPrompt.all().distinct().values_list("tenant_id", "user_id"),
        *await ConsentEvent.all().distinct().values_list("tenant_id", "user_id"),
    }
    erased = await AuditEntry.filter(
        action__in=["person.erased", "person.revoked_by_admin"]
    ).count()
    return {
        "people asked": len(asked),
        "people who agreed at least once": await people_with("grant"),
        "people who declined": await people_with("decline"),
        "people who withdrew": await people_with("withdraw"),
        "erasures carried out": erased,
        "observed channels": await Channel.filter(observed=True).count(),
        "messages held": await Observation.all().count(),
        "people whose messages are held": len(
            await Observation.all().distinct().values_list("person_id", flat=True)
        ),
    }


def _where(settings: Settings) -> str:
    if settings.database_url:
        url = urlsplit(settings.database_url)
        return f"{url.scheme} database on {url.hostname or 'localhost'}:{url.port or ''}".rstrip(
            ":"
        )
    return f"SQLite file in {settings.data_dir.resolve()} (0600, directory 0700)"


async def render(settings: Settings) -> str:
    """The report as Markdown."""
    terms = Terms.of(settings)
    lines = ["# Apprentice — privacy report", ""]
    lines += ["## Purposes (each asked separately, each withdrawable at any time)", ""]
    lines += [f"- **{p.value}**: {what}" for p, what in PURPOSES.items()]
    lines += ["", "## Data categories", ""] + [f"- {c}" for c in CATEGORIES]
    lines += [
        "",
        "## Retention",
        "",
        f"- messages and taught examples: {settings.retention_days} days, then deleted",
        "- erasure on request (`/skill forget`): at once, with a receipt",
        "",
        "## Recipients",
        "",
        f"- model provider: {terms.provider or 'none (the offline engine only)'}",
        "- no one else; the chat platforms only receive the bot's replies",
        "",
        "## Where data lives",
        "",
        f"- {_where(settings)}",
        f"- bus: {'Redis (ciphertext entries only)' if settings.bus == 'redis' else 'in memory'}",
        "",
        "## Safeguards and the tests that prove them",
        "",
    ]
    lines += [f"- {what} — `{test}`" for what, test in SAFEGUARDS]
    lines += ["", "## Counts (no names, no ids, no messages)", ""]
    lines += [f"- {name}: {n}" for name, n in (await counts()).items()]
    lines += ["", "## The notices, exactly as shown", ""]
    for purpose in Purpose:
        for language in LANGUAGES:
            shown = notice_with(purpose, language, terms)
            lines += [
                f"### {purpose.value} ({language}) — version {shown.version}",
                f"SHA-256 `{shown.sha256}`",
                "",
                "```",
                shown.text,
                "```",
                "",
            ]
    return "\n".join(lines)
