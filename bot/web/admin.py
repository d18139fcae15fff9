"""The admin pages under /admin: channels (observe, stop), people (data counts, erase), the
consent ledger, activity charts, the audit log, and the sections the composition root plugs
in (the skills pages, with provenance, diff, publish and rollback: skills/admin_pages.py).

Server-rendered, served by the bot's own web server (mounted in bot/app.py). A signed-in
admin sees and acts on their own workspace only; the admin token (scripts) reads every
workspace (`?ws=platform:workspace_id`) and acts on none. Every query is scoped by the
workspace (invariant 9). Who may open them: bot/web/admin_auth.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from aiohttp import web
from tortoise.expressions import Q

from bot.services import Publish, Services
from bot.storage.models import Channel, Tenant
from bot.web import admin_data as data
from bot.web.activity import activity_body, load_activity
from bot.web.admin_auth import bearer, cross_site, csrf_ok, session_token, token_matches
from bot.web.admin_render import (
    TABS,
    Nav,
    Tab,
    audit_body,
    consent_body,
    esc,
    message_body,
    overview_body,
    page,
    picker,
)
from bot.web.as_chat import run_as_typed
from bot.web.people import confirm_erase_body, load_people, people_body
from bot.web.responses import Problem, html_response, see_other
from bot.web.signin import Kind, Session, end_sessions_of, find_session, may_administer
from bot.web.signin_pages import SignInPages
from bot.web.signin_render import refuse_post

if TYPE_CHECKING:
    from bot.app import Application

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SIGN_IN = "/admin/signin"
MAX_FIELD_CHARS = 200
NOTES = {  # what a finished action says on the page it returns to (fixed texts only)
    "observe": "Observed, as from chat: the bot posted its notice in the channel.",
    "not-observed": "Not observed: the bot's answer in your direct messages says why.",
    "unobserve": "Done as from chat: the channel is no longer observed; the bot said so there.",
    "erased": "Erased as an admin revocation: the person was sent their receipt.",
    "published": "Published.",
    "rolled-back": "Rolled back.",
}
__all__ = ["FORM", "VIEWER", "AdminPages", "AdminSection", "Handler", "Problem", "int_param"]


@dataclass(frozen=True, slots=True)
class AdminSection:
    """Pages a plugged-in part adds under /admin: its tab (shown before the audit log), its
    GET routes and its POST routes (acting ones: signed in, same origin, CSRF-checked), made
    from the AdminPages they render with."""

    tab: Tab
    routes: Callable[[AdminPages], Sequence[tuple[str, Handler]]]
    actions: Callable[[AdminPages], Sequence[tuple[str, Handler]]] = lambda _: ()


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: a signed-in admin of one workspace, or a script with the token."""

    session: Session | None

    @property
    def csrf(self) -> str:
        return self.session.csrf if self.session else ""


VIEWER = web.RequestKey("viewer", Viewer)
FORM = web.RequestKey("form", Mapping[str, object])


def add_admin_routes(
    web_app: web.Application, app: Application, sections: Sequence[AdminSection] = ()
) -> None:
    tabs = (*TABS[:-1], *(s.tab for s in sections), TABS[-1])
    pages = AdminPages(app, tabs)
    router = web_app.router
    for path, handler in (
        ("/admin", pages.overview),
        ("/admin/", pages.overview),
        ("/admin/people", pages.people),
        ("/admin/people/erase", pages.confirm_erase),
        ("/admin/consent", pages.consent),
        ("/admin/activity", pages.activity),
        *(route for section in sections for route in section.routes(pages)),
        ("/admin/audit", pages.audit),
    ):
        router.add_get(path, pages.guarded(handler))
    for path, handler in (
        ("/admin/channels/observe", pages.observe),
        ("/admin/channels/unobserve", pages.unobserve),
        ("/admin/people/erase", pages.erase),
        *(route for section in sections for route in section.actions(pages)),
    ):
        router.add_post(path, pages.acting(handler))
    SignInPages(app.settings, Kind.ADMIN, pages.still_admin).add_routes(router)
    router.add_get("/admin/admin.css", pages.css)


def int_param(request: web.Request, name: str) -> int | None:
    value = request.query.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise Problem(400, "Bad address", f"{name} must be a whole number, e.g. {name}=2.")
    return int(value)


def form_text(request: web.Request, name: str) -> str:
    """A one-line field of the acting form (already read and checked by `acting`)."""
    value = request[FORM].get(name)
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > MAX_FIELD_CHARS or any(c in text for c in "\r\n"):
        raise Problem(
            400, "Missing field", f"The form needs a one-line {name}. Go back and fill it."
        )
    return text


class AdminPages:
    def __init__(self, app: Application, tabs: tuple[Tab, ...] = TABS) -> None:
        self._app = app
        self._tabs = tabs

    @property
    def services(self) -> Services:
        if self._app.services is None:
            raise Problem(503, "Starting", "Apprentice is still starting: reload in a moment.")
        return self._app.services

    @property
    def publish(self) -> Publish:
        if self._app.bus is None:
            raise Problem(503, "Starting", "Apprentice is still starting: try again in a moment.")
        return self._app.bus.publish

    # -- access ------------------------------------------------------------------------------

    async def still_admin(self, platform: str, tenant: str, user_id: str) -> bool:
        return await may_administer(self._app.settings, platform, tenant, user_id)

    async def session(self, request: web.Request) -> Session | None:
        found = await find_session(session_token(request, Kind.ADMIN), Kind.ADMIN)
        if found is None:
            return None
        tenant = found.tenant
        return (
            found
            if await self.still_admin(tenant.platform, tenant.external_id, found.user_id)
            else None
        )

    def guarded(self, handler: Handler) -> Handler:
        async def guard(request: web.Request) -> web.StreamResponse:
            try:
                session = await self.session(request)
                if session is None and not token_matches(
                    self._app.settings.admin_token, bearer(request)
                ):
                    return see_other(SIGN_IN)
                request[VIEWER] = Viewer(session)
                return await handler(request)
            except Problem as problem:
                return self.problem(problem)

        return guard

    def acting(self, handler: Handler) -> Handler:
        async def guard(request: web.Request) -> web.StreamResponse:
            try:
                if cross_site(request, self._app.settings):
                    return html_response(refuse_post("It came from another site."), 403)
                session = await self.session(request)
                if session is None:
                    if token_matches(self._app.settings.admin_token, bearer(request)):
                        raise Problem(
                            403,
                            "Sign in to act",
                            "The admin token reads these pages; changing anything needs an "
                            "admin signed in from chat, so every change names its person.",
                        )
                    return see_other(SIGN_IN)
                form = await request.post()
                if not csrf_ok(form, session.csrf):
                    return html_response(
                        refuse_post("It did not carry this page's security token."), 403
                    )
                request[VIEWER], request[FORM] = Viewer(session), form
                return await handler(request)
            except Problem as problem:
                return self.problem(problem)

        return guard

    def problem(self, problem: Problem) -> web.Response:
        body = message_body(problem.title, problem.text)
        return html_response(page(problem.title, [body]), problem.status)

    async def css(self, request: web.Request) -> web.Response:
        text = resources.files("bot.web").joinpath("admin.css").read_text("utf-8")
        return web.Response(
            text=text, content_type="text/css", headers={"Cache-Control": "max-age=3600"}
        )

    # -- pages -------------------------------------------------------------------------------

    def render(
        self, request: web.Request, title: str, tab: str, tenant: Tenant | None, body: str
    ) -> web.Response:
        viewer = request[VIEWER]
        ws = data.workspace_key(tenant) if tenant else None
        who = viewer.session.user_id if viewer.session else None
        note = NOTES.get(request.query.get("done", ""))
        shown = (f'<p class="check ok" role="status">{esc(note)}</p>' if note else "") + body
        return html_response(page(title, [shown], Nav(tab, ws, who, viewer.csrf, self._tabs)))

    async def workspace(self, request: web.Request) -> tuple[list[Tenant], Tenant | None]:
        """The workspaces this viewer may see, and the chosen one: a signed-in admin's own
        (and no other), or for the token the one named (the only one when there is one)."""
        viewer = request[VIEWER]
        key = request.query.get("ws", "").strip()
        if viewer.session is not None:
            own = viewer.session.tenant
            if key and key != data.workspace_key(own):
                raise Problem(
                    403,
                    "Not your workspace",
                    f"You are signed in as an admin of {data.workspace_key(own)} only. To see "
                    "another workspace, sign in from that workspace's chat.",
                )
            return [own], own
        tenants = await data.all_tenants()
        if not key:
            return tenants, tenants[0] if len(tenants) == 1 else None
        tenant = await data.find_tenant(key)
        if tenant is None:
            raise Problem(
                404,
                "No such workspace",
                f"There is no workspace {key!r} here. "
                "Pick one from the list on the Channels page (/admin).",
            )
        return tenants, tenant

    def own_workspace(self, request: web.Request) -> tuple[Session, Tenant]:
        """Where an acting request acts: the signed-in admin's workspace, always."""
        viewer = request[VIEWER]
        assert viewer.session is not None  # `acting` lets no one else through
        return viewer.session, viewer.session.tenant

    def choose(
        self, request: web.Request, title: str, tab: str, path: str, tenants: list[Tenant]
    ) -> web.Response:
        body = f"<h1>{esc(title)}</h1>" + picker(tenants, None, path)
        return self.render(request, title, tab, None, body)

    async def overview(self, request: web.Request) -> web.Response:
        tenants, tenant = await self.workspace(request)
        found = await data.overview(tenant, self.services.ledger) if tenant else None
        viewer = request[VIEWER]
        body = overview_body(tenants, tenant, found, viewer.csrf or None)
        return self.render(request, "Channels", "overview", tenant, body)

    async def people(self, request: web.Request) -> web.Response:
        tenants, tenant = await self.workspace(request)
        if tenant is None:
            return self.choose(request, "People", "people", "/admin/people", tenants)
        viewer = request[VIEWER]
        rows = await load_people(tenant, self.services.ledger)
        body = people_body(data.workspace_key(tenant), rows, viewer.session is not None)
        return self.render(request, "People", "people", tenant, body)

    async def confirm_erase(self, request: web.Request) -> web.Response:
        _, tenant = await self.workspace(request)
        viewer = request[VIEWER]
        user = request.query.get("user", "").strip()
        if tenant is None or viewer.session is None or not user:
            raise Problem(
                400,
                "Whose data?",
                "Erasing is done by a signed-in admin from the People page: press Erase "
                "beside the person.",
            )
        rows = [r for r in await load_people(tenant, self.services.ledger) if r.user_id == user]
        body = confirm_erase_body(user, rows[0] if rows else None, viewer.csrf)
        return self.render(request, f"Erase {user}", "people", tenant, body)

    async def consent(self, request: web.Request) -> web.Response:
        tenants, tenant = await self.workspace(request)
        if tenant is None:
            return self.choose(request, "Consent ledger", "consent", "/admin/consent", tenants)
        user = request.query.get("user", "").strip() or None
        events = await data.consent_events(tenant, user, int_param(request, "before"))
        body = consent_body(
            data.workspace_key(tenant),
            events,
            await data.channel_names(tenant),
            await data.ledger_users(tenant),
            user,
        )
        return self.render(request, "Consent ledger", "consent", tenant, body)

    async def activity(self, request: web.Request) -> web.Response:
        tenants, tenant = await self.workspace(request)
        if tenant is None:
            return self.choose(request, "Activity", "activity", "/admin/activity", tenants)
        body = activity_body(await load_activity(tenant))
        return self.render(request, "Activity", "activity", tenant, body)

    async def audit(self, request: web.Request) -> web.Response:
        tenants, tenant = await self.workspace(request)
        if tenant is None:
            return self.choose(request, "Audit log", "audit", "/admin/audit", tenants)
        audit = self.services.audit
        user = request.query.get("user", "").strip() or None
        pseudonym = audit.pseudonym(tenant.platform, tenant.external_id, user) if user else None
        entries = await data.audit_entries(tenant, pseudonym, int_param(request, "before"))
        body = audit_body(
            data.workspace_key(tenant), await audit.verify(), entries, user, pseudonym
        )
        return self.render(request, "Audit log", "audit", tenant, body)

    # -- acting (as the signed-in admin would in chat) ---------------------------------------

    async def observe(self, request: web.Request) -> web.StreamResponse:
        session, tenant = self.own_workspace(request)
        channel = form_text(request, "channel").lstrip("#")
        await run_as_typed(self.publish, tenant, session.user_id, f"admin observe #{channel}")
        observed = await Channel.filter(
            Q(channel_id=channel) | Q(name=channel), tenant=tenant, observed=True
        ).exists()
        return see_other("/admin?done=" + ("observe" if observed else "not-observed"))

    async def unobserve(self, request: web.Request) -> web.StreamResponse:
        session, tenant = self.own_workspace(request)
        channel = form_text(request, "channel").lstrip("#")
        await run_as_typed(self.publish, tenant, session.user_id, f"admin unobserve {channel}")
        return see_other("/admin?done=unobserve")

    async def erase(self, request: web.Request) -> web.StreamResponse:
        session, tenant = self.own_workspace(request)
        user = form_text(request, "user")
        if any(c.isspace() for c in user):
            raise Problem(400, "Whose data?", "A person is named by their user id, one word.")
        if form_text(request, "confirm") != "erase":
            raise Problem(400, "Not confirmed", "Erasing needs its confirmation: go back.")
        await run_as_typed(self.publish, tenant, session.user_id, f"admin revoke {user}")
        await end_sessions_of(tenant, user)
        return see_other("/admin/people?done=erased")
