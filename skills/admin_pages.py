"""The admin skills pages (/admin/skills): versions, contributors, and each section or rule
with the observations it came from. Plugged into the admin web by the composition root."""

from __future__ import annotations

from aiohttp import web

from bot.web.admin import AdminPages, AdminSection, Handler, Problem, int_param
from bot.web.admin_data import workspace_key
from bot.web.admin_render import href
from skills import admin_data as data
from skills import store
from skills.admin_render import skill_body, skills_body


class SkillPages:
    def __init__(self, pages: AdminPages) -> None:
        self.pages = pages

    def routes(self) -> list[tuple[str, Handler]]:
        return [("/admin/skills", self.skills), ("/admin/skills/{name}", self.skill)]

    async def skills(self, request: web.Request) -> web.Response:
        tenants, tenant = await self.pages.workspace(request)
        if tenant is None:
            return self.pages.choose(request, "Skills", "skills", "/admin/skills", tenants)
        services = self.pages.services
        found = await data.skill_summaries(tenant, services.ledger, services.vault)
        return self.pages.render(
            request, "Skills", "skills", tenant, skills_body(workspace_key(tenant), found)
        )

    async def skill(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        tenants, tenant = await self.pages.workspace(request)
        if tenant is None:
            return self.pages.choose(request, f"Skill {name}", "skills", request.path, tenants)
        ws = workspace_key(tenant)
        team = request.query.get("team")
        if team is None:  # the only team's, or a list of the teams that have one
            services = self.pages.services
            teams = await data.skill_summaries(tenant, services.ledger, services.vault, name)
            if len(teams) > 1:
                body = skills_body(ws, teams, f"Skill {name}: one per team")
                return self.pages.render(request, f"Skill {name}", "skills", tenant, body)
            skill = teams[0].skill if teams else None
        else:
            skill = await store.find_skill(tenant, name, team.strip())
        if skill is None:
            raise Problem(
                404,
                "No such skill",
                f"There is no skill {name!r} of that team in {ws}. "
                "The Skills page lists the ones there are.",
            )
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
                + href(f"/admin/skills/{name}", ws=ws, team=skill.team),
            )
        view = await data.version_view(
            tenant, self.pages.services.ledger, self.pages.services.vault, skill, row
        )
        body = skill_body(ws, skill, rows, view, await data.team_label(tenant, skill))
        return self.pages.render(request, f"Skill {name}", "skills", tenant, body)


SECTION = AdminSection(
    tab=("skills", "/admin/skills", "Skills"),
    routes=lambda pages: SkillPages(pages).routes(),
)
