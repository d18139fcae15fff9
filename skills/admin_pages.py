"""The admin skills pages (/admin/skills): versions, contributors, each section or rule with
the observations it came from, the diff between two versions, publish and rollback.
Plugged into the admin web by the composition root."""

from __future__ import annotations

from aiohttp import web

from bot.storage.models import Skill, SkillVersion, Tenant
from bot.web.admin import (
    FORM,
    VIEWER,
    AdminPages,
    AdminSection,
    Handler,
    Problem,
    form_text,
    int_param,
)
from bot.web.admin_data import workspace_key
from bot.web.admin_render import href
from bot.web.responses import see_other
from skills import admin_data as data
from skills import store
from skills.admin_render import diff_body, skill_body, skill_path, skills_body
from skills.engine import SkillEngine
from skills.runtime import SkillsRuntime
from skills.sealed import opened


class SkillPages:
    def __init__(self, pages: AdminPages) -> None:
        self.pages = pages

    def routes(self) -> list[tuple[str, Handler]]:
        return [
            ("/admin/skills", self.skills),
            ("/admin/skills/{name}", self.skill),
            ("/admin/skills/{name}/diff", self.diff),
        ]

    def actions(self) -> list[tuple[str, Handler]]:
        return [
            ("/admin/skills/{name}/publish", self.publish),
            ("/admin/skills/{name}/rollback", self.rollback),
        ]

    @property
    def engine(self) -> SkillEngine:
        runtime = self.pages.services.skills
        if not isinstance(runtime, SkillsRuntime):
            raise Problem(503, "Skills not running", "The skills engine is not running here.")
        return runtime.engine

    async def skills(self, request: web.Request) -> web.Response:
        tenants, tenant = await self.pages.workspace(request)
        if tenant is None:
            return self.pages.choose(request, "Skills", "skills", "/admin/skills", tenants)
        services = self.pages.services
        found = await data.skill_summaries(tenant, services.ledger, services.vault)
        return self.pages.render(
            request, "Skills", "skills", tenant, skills_body(workspace_key(tenant), found)
        )

    async def _skill(self, tenant: Tenant, name: str, team: str) -> Skill:
        skill = await store.find_skill(tenant, name, team.strip())
        if skill is None:
            raise _missing(tenant, name)
        return skill

    async def _team_skill(self, request: web.Request, tenant: Tenant, name: str) -> Skill:
        """The skill of the team in `?team=`, or without it the only team's."""
        team = request.query.get("team")
        if team is not None:
            return await self._skill(tenant, name, team)
        teams = await Skill.filter(tenant=tenant, name=name).limit(2)
        if len(teams) != 1:
            raise _missing(tenant, name)
        return teams[0]

    async def skill(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        tenants, tenant = await self.pages.workspace(request)
        if tenant is None:
            return self.pages.choose(request, f"Skill {name}", "skills", request.path, tenants)
        ws = workspace_key(tenant)
        if request.query.get("team") is None:  # the only team's, or a list of the teams
            teams = await data.skill_summaries(
                tenant, self.pages.services.ledger, self.pages.services.vault, name
            )
            if len(teams) > 1:
                body = skills_body(ws, teams, f"Skill {name}: one per team")
                return self.pages.render(request, f"Skill {name}", "skills", tenant, body)
        skill = await self._team_skill(request, tenant, name)
        rows = await store.versions(skill)
        number = int_param(request, "v")
        row = (
            next((r for r in rows if r.number == number), None)
            if number is not None
            else await store.current(skill) or (rows[-1] if rows else None)
        )
        if row is None and not rows:
            raise Problem(
                404,
                "No version yet",
                f"{name} has no version yet: learn it in chat with /skill learn {name}.",
            )
        if row is None:
            raise Problem(
                404,
                "No such version",
                f"{name} has no version v{number}. "
                "Its page lists the versions there are: "
                + href(skill_path(skill), ws=ws, team=skill.team),
            )
        ledger = self.pages.services.ledger
        view = await data.version_view(tenant, ledger, self.pages.services.vault, skill, row)
        live = await store.published(skill)
        changes = (
            await self._diff_text(tenant, live, row) if live is None or live.id != row.id else None
        )
        viewer = request[VIEWER]
        body = skill_body(
            ws, skill, rows, view, await data.team_label(tenant, skill), changes, viewer.csrf
        )
        return self.pages.render(request, f"Skill {name}", "skills", tenant, body)

    async def _diff_text(self, tenant: Tenant, old: SkillVersion | None, new: SkillVersion) -> str:
        services = self.pages.services
        live = await data.live_authors(tenant, services.ledger, old, new)
        before = await opened(old, services.vault) if old is not None else None
        return self.engine.diff(before, await opened(new, services.vault), live)

    async def diff(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        _, tenant = await self.pages.workspace(request)
        if tenant is None:
            raise Problem(400, "Which workspace?", "Open the diff from a skill's page.")
        skill = await self._team_skill(request, tenant, name)
        a, b = int_param(request, "a"), int_param(request, "b")
        old = await store.version(skill, a) if a is not None else None
        new = await store.version(skill, b) if b is not None else None
        if new is None or (a is not None and old is None):
            raise Problem(
                404, "No such version", f"Pick two versions of {name} that exist (a= and b=)."
            )
        text = await self._diff_text(tenant, old, new)
        body = diff_body(workspace_key(tenant), skill, old, new, text)
        return self.pages.render(request, f"{name}: v{a} → v{b}", "skills", tenant, body)

    async def _act(self, request: web.Request, verb: str) -> web.StreamResponse:
        session, tenant = self.pages.own_workspace(request)
        skill = await self._skill(tenant, request.match_info["name"], _team(request))
        number = form_text(request, "v")
        if not number.isdigit():
            raise Problem(400, "Which version?", "The form names a version number: go back.")
        engine = self.engine
        reply = (
            await engine.publish(tenant, skill.name, int(number), team=skill.team)
            if verb == "publish"
            else await engine.rollback(tenant, skill.name, int(number), team=skill.team)
        )
        if not reply.ok:
            raise Problem(409, "Not done", reply.text.replace("*", ""))
        await self.pages.services.audit.record(
            tenant.platform,
            tenant.external_id,
            f"skill.{verb}",
            session.user_id,
            skill=skill.name,
            version=int(number),
            via="web",
        )
        done = "published" if verb == "publish" else "rolled-back"
        ws = workspace_key(tenant)
        return see_other(href(skill_path(skill), ws=ws, team=skill.team, done=done))

    async def publish(self, request: web.Request) -> web.StreamResponse:
        return await self._act(request, "publish")

    async def rollback(self, request: web.Request) -> web.StreamResponse:
        return await self._act(request, "rollback")


def _missing(tenant: Tenant, name: str) -> Problem:
    return Problem(
        404,
        "No such skill",
        f"There is no skill {name!r} of that team in {workspace_key(tenant)}. "
        "The Skills page lists the ones there are.",
    )


def _team(request: web.Request) -> str:
    value = request[FORM].get("team", "")
    return value if isinstance(value, str) else ""


SECTION = AdminSection(
    tab=("skills", "/admin/skills", "Skills"),
    routes=lambda pages: SkillPages(pages).routes(),
    actions=lambda pages: SkillPages(pages).actions(),
)
