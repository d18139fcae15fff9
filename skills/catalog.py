"""Managing skills: list, show, publish (with its diff), roll back, export and import.

Part of the SkillEngine (skills/engine.py); everything shown passes through the same
visibility rule as a run: only what people whose consent is in force taught.
"""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.consent.ledger import ConsentLedger
from bot.storage.models import Skill, SkillVersion, Tenant
from bot.storage.vault import Vault
from skills import agentskills, store
from skills.body import offline_body
from skills.kinds import BUILTIN, kind_for
from skills.material import visible_user_ids
from skills.reply import Reply
from skills.scope import channel_names, team_channels
from skills.sealed import opened
from skills.visibility import authors, visible_provenance, visible_template


class SkillCatalog:
    """The catalog half of the SkillEngine (it provides `ledger` and `_contributions`)."""

    ledger: ConsentLedger
    vault: Vault
    _contributions: Callable[[SkillVersion], Awaitable[dict[str, int]]]

    # -- showing, publishing, rolling back ----------------------------------------------------

    async def list_skills(self, tenant: Tenant, skills: list[Skill] | None = None) -> Reply:
        """The given skills (those of the asker's channels: skills/scope.py), else all."""
        if skills is None:
            skills = await Skill.filter(tenant=tenant).order_by("name", "team")
        names = await channel_names(tenant)
        lines = ["*Skills*"]
        known = {s.name for s in skills}
        for skill in skills:
            row = await store.current(skill)
            state = f"v{row.number} {row.status}" if row else "no version yet"
            team = ", ".join(f"#{names.get(c, c)}" for c in team_channels(skill.team))
            lines.append(
                f"• `{skill.name}` ({skill.kind}) for {team or 'the whole workspace'} — {state}, "
                f"used {await store.total_runs(skill)} times"
            )
        for name in BUILTIN:
            if name not in known:
                lines.append(f"• `{name}` (built in) — not learned yet: `/skill learn {name}`")
        lines.append("Run one with `/skill NAME`; `/skill show NAME` shows what it learned.")
        return Reply("\n".join(lines))

    async def show(
        self, tenant: Tenant, name: str, number: int | None = None, *, team: str = ""
    ) -> Reply:
        skill = await store.find_skill(tenant, name, team)
        if skill is None:
            hint = f"`/skill learn {name}`" if name in BUILTIN else f"`/skill teach {name}`"
            return Reply(f"There is no skill `{name}` yet. {hint} makes one.", ok=False)
        rows = await store.versions(skill)
        row = (
            next((r for r in rows if r.number == number), None)
            if number
            else (await store.current(skill) or (rows[-1] if rows else None))
        )
        if row is None:
            return Reply(f"*{name}* has no version yet: `/skill learn {name}`.", ok=False)
        artifact = await opened(row, self.vault)
        template = artifact.get("template", {})
        contributors = await self._contributions(row)
        live = await visible_user_ids(tenant, self.ledger, set(contributors) | authors(template))
        view = visible_template(template, live)
        kind = kind_for(artifact.get("kind", skill.kind))
        shown = [
            f"{u} ({n} messages)" if n else f"{u} (corrections)"
            for u, n in sorted(contributors.items())
            if u in live
        ]
        hidden = len([u for u in contributors if u not in live])
        names = await channel_names(tenant)
        channels = ", ".join(f"#{names.get(c, c)}" for c in team_channels(skill.team))
        lines = [
            f"*{name}* v{row.number} ({row.status}) — {skill.kind}"
            + f", for {channels or 'the whole workspace'}"
            + (f", owner {skill.owner_user_id}" if skill.owner_user_id else ""),
            artifact.get("description", skill.description),
            f"Contributors: {', '.join(shown) or 'none who still take part'}"
            + (f" ({hidden} who withdrew are hidden)" if hidden else ""),
            f"Runs: {row.run_count} of this version, {sum(r.run_count for r in rows)} in all",
        ]
        lines.extend(f"• {line}" for line in kind.summary(view))
        corrections = [c for c in artifact.get("corrections", []) if c["by"] in live]
        if corrections:
            lines.append("Corrections: " + "; ".join(c["text"] for c in corrections))
        lines.append("Versions: " + ", ".join(f"v{r.number} {r.status}" for r in rows))
        return Reply("\n".join(lines), version=row)

    async def may_manage(
        self, tenant: Tenant, name: str, user_id: str, is_admin: bool, *, team: str = ""
    ) -> bool:
        """The owner of the team's skill (whoever first learned it there) or an admin."""
        skill = await store.find_skill(tenant, name, team)
        return skill is not None and (is_admin or skill.owner_user_id == user_id)

    async def publish_preview(
        self, tenant: Tenant, name: str, number: int | None, *, team: str = ""
    ) -> Reply:
        """The diff between what runs now and the version to publish."""
        skill = await store.find_skill(tenant, name, team)
        if skill is None:
            return Reply(f"There is no skill `{name}`.", ok=False)
        target = (
            await store.version(skill, number) if number else await store.latest(skill, store.DRAFT)
        )
        if target is None or target.status == store.RETIRED:
            return Reply(
                f"*{name}* has no draft to publish. `/skill learn {name}` makes one.", ok=False
            )
        live_now = await store.published(skill)
        new = await opened(target, self.vault)
        old = await opened(live_now, self.vault) if live_now is not None else None
        everyone = authors(new.get("template", {}))
        if old is not None:
            everyone |= authors(old.get("template", {}))
        diff = self.diff(old, new, await visible_user_ids(tenant, self.ledger, everyone))
        return Reply(
            f"Publish *{name}* v{target.number}? Changes from "
            f"{f'v{live_now.number}' if live_now else 'nothing published'}:\n```\n{diff}\n```",
            version=target,
        )

    def diff(self, old: dict | None, new: dict, live: set[str]) -> str:
        """What changes between two opened artifacts, as far as `live` people taught them."""

        def lines(artifact: dict | None) -> list[str]:
            if artifact is None:
                return []
            kind = kind_for(artifact.get("kind", ""))
            return kind.summary(visible_template(artifact.get("template", {}), live))

        changes = [
            line
            for line in difflib.unified_diff(lines(old), lines(new), lineterm="", n=0)
            if not line.startswith(("---", "+++", "@@"))
        ]
        return "\n".join(changes) or "(no changes to sections or rules)"

    async def publish(self, tenant: Tenant, name: str, number: int, *, team: str = "") -> Reply:
        skill = await store.find_skill(tenant, name, team)
        row = await store.version(skill, number) if skill else None
        if skill is None or row is None or row.status == store.RETIRED:
            return Reply(
                f"*{name}* v{number} can't be published (it doesn't exist or was retired).",
                ok=False,
            )
        await store.publish(skill, row)
        return Reply(f"Published *{name}* v{number}. `/skill {name}` now runs it.", version=row)

    async def rollback(
        self, tenant: Tenant, name: str, number: int | None, *, team: str = ""
    ) -> Reply:
        skill = await store.find_skill(tenant, name, team)
        if skill is None:
            return Reply(f"There is no skill `{name}`.", ok=False)
        current = await store.published(skill)
        rows = [r for r in await store.versions(skill) if r.status != store.RETIRED]
        if number is None:
            earlier = [
                r
                for r in rows
                if current and r.number < current.number and r.status == store.ARCHIVED
            ]
            target = earlier[-1] if earlier else None
        else:
            target = next((r for r in rows if r.number == number), None)
        if target is None:
            return Reply(
                f"There is no earlier version of *{name}* to roll back to. Versions: "
                + ", ".join(f"v{r.number} {r.status}" for r in rows),
                ok=False,
            )
        await store.publish(skill, target)
        return Reply(f"Rolled *{name}* back: v{target.number} is published again.", version=target)

    # -- Agent Skills folders ------------------------------------------------------------------

    async def export(
        self, tenant: Tenant, name: str, root: Path, number: int | None = None, *, team: str = ""
    ) -> Path:
        """Write the team's skill's current (or given) version as `root/NAME/`."""
        skill = await store.find_skill(tenant, name, team)
        if skill is None:
            raise LookupError(f"There is no skill {name!r} of that team in this workspace.")
        row = await store.version(skill, number) if number else await store.current(skill)
        if row is None or not row.artifact:
            raise LookupError(f"{name!r} has no version to export; learn it first.")
        # Only what people whose consent is in force taught leaves the workspace.
        everyone = await store.contributor_ids(row)
        artifact, provenance = await opened(row, self.vault), row.provenance or {}
        template = artifact.get("template", {})
        taught_by = set(everyone) | authors(template)
        live = await visible_user_ids(tenant, self.ledger, taught_by)
        if taught_by - live:  # someone withdrew: their words and their ids stay home
            view = visible_template(template, live)
            description = artifact.get("description", "")
            artifact = {
                **artifact,
                "template": view,
                "body": offline_body(name, artifact.get("kind", ""), view, description),
                "body_source": "offline",
            }
            provenance = await visible_provenance(tenant, skill, provenance, live)
        contributors = [c for c in everyone if c in live]
        return agentskills.export_folder(
            root, artifact, provenance, row.number, row.status, contributors
        )

    async def import_folder(
        self, tenant: Tenant, folder: Path, by: str | None, *, team: str = ""
    ) -> Reply:
        """Read an Agent Skills folder into a new draft version of the team's skill (made if
        new); imported without a team's channels, it is workspace-wide."""
        found = agentskills.import_folder(folder)
        kind = found.artifact.get("kind", "template")
        skill = await store.ensure_skill(tenant, found.name, kind, by, found.description, team)
        fields, _ = agentskills.split((folder / "SKILL.md").read_text("utf-8"))
        metadata = fields.get("metadata") or {}
        names = str(metadata.get("contributors", "")) if isinstance(metadata, dict) else ""
        contributors = {u.strip(): 0 for u in names.split(",") if u.strip()}
        row = await store.add_version(
            skill, found.artifact, found.provenance, contributors, by, self.vault
        )
        origin = "another tool" if found.foreign else "Apprentice"
        return Reply(
            f"Imported *{found.name}* as v{row.number} (draft), made by {origin}.", version=row
        )
