"""The admin pages under /admin: channels, consent ledger, audit log, and the sections the
composition root plugs in (the skills pages, with provenance: skills/admin_pages.py).

Read-only and server-rendered, served by the bot's own web server (mounted in bot/app.py).
Every page works on one workspace (`?ws=platform:workspace_id`) and every query is scoped
by it (invariant 9). Who may open them: bot/web/admin_auth.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from aiohttp import web

from bot.services import Services
from bot.storage.models import Tenant
from bot.web import admin_data as data
from bot.web.admin_auth import COOKIE, Access, AdminAuth, clear_cookie, safe_next, set_cookie
from bot.web.admin_render import (
    TABS,
    Nav,
    Tab,
    audit_body,
    consent_body,
    esc,
    forbidden_body,
    login_body,
    message_body,
    overview_body,
    page,
    picker,
)

if TYPE_CHECKING:
    from bot.app import Application

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
WRONG_TOKEN = (
    "That token is not right. Use the value of APPRENTICE_ADMIN_TOKEN where Apprentice runs, "
    "and try again."
)


class Problem(Exception):
    """A page that says what went wrong and what to do."""

    def __init__(self, status: int, title: str, text: str) -> None:
        super().__init__(text)
        self.status, self.title, self.text = status, title, text


@dataclass(frozen=True, slots=True)
class AdminSection:
    """Pages a plugged-in part adds under /admin: its tab (shown before the audit log) and
    its GET routes, made from the AdminPages they render with (guarded like the rest)."""

    tab: Tab
    routes: Callable[[AdminPages], Sequence[tuple[str, Handler]]]


def add_admin_routes(
    web_app: web.Application, app: Application, sections: Sequence[AdminSection] = ()
) -> None:
    tabs = (*TABS[:-1], *(s.tab for s in sections), TABS[-1])
    pages = AdminPages(app, tabs)
    router = web_app.router
    plugged = [route for section in sections for route in section.routes(pages)]
    for path, handler in (
        ("/admin", pages.overview),
        ("/admin/", pages.overview),
        ("/admin/consent", pages.consent),
        *plugged,
        ("/admin/audit", pages.audit),
    ):
        router.add_get(path, pages.guarded(handler))
    router.add_get("/admin/login", pages.login_form)
    router.add_post("/admin/login", pages.login)
    router.add_post("/admin/logout", pages.logout)
    router.add_get("/admin/admin.css", pages.css)


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", headers=HEADERS)


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, **HEADERS})


def int_param(request: web.Request, name: str) -> int | None:
    value = request.query.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise Problem(400, "Bad address", f"{name} must be a whole number, e.g. {name}=2.")
    return int(value)


class AdminPages:
    def __init__(self, app: Application, tabs: tuple[Tab, ...] = TABS) -> None:
        self._app = app
        self._tabs = tabs
        self._auth: AdminAuth | None = None

    @property
    def services(self) -> Services:
        if self._app.services is None:
            raise Problem(503, "Starting", "Apprentice is still starting: reload in a moment.")
        return self._app.services

    @property
    def auth(self) -> AdminAuth:
        if self._auth is None:
            settings = self._app.settings
            self._auth = AdminAuth(
                settings.admin_token, settings.web_host, self.services.vault.cookie_key
            )
        return self._auth

    # -- access ------------------------------------------------------------------------------

    def guarded(self, handler: Handler) -> Handler:
        async def guard(request: web.Request) -> web.StreamResponse:
            try:
                access = self.auth.access(request)
                if access is Access.FORBIDDEN:
                    return _html(page("Locked", [forbidden_body()]), 403)
                if access is Access.LOGIN:
                    return self._login_page(request.path_qs, None)
                return await handler(request)
            except Problem as problem:
                body = message_body(problem.title, problem.text)
                return _html(page(problem.title, [body]), problem.status)

        return guard

    def _login_page(self, next_url: str, error: str | None) -> web.Response:
        response = _html(page("Sign in", [login_body(safe_next(next_url), error)]), 401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="apprentice-admin"'
        return response

    async def login_form(self, request: web.Request) -> web.StreamResponse:
        if not self.auth.token_required:
            raise web.HTTPSeeOther("/admin")
        return self._login_page(request.query.get("next", "/admin"), None)

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        token, next_url = form.get("token"), form.get("next")
        target = safe_next(next_url if isinstance(next_url, str) else None)
        if not self.auth.token_required:
            raise web.HTTPSeeOther("/admin")
        if not isinstance(token, str) or not self.auth.token_matches(token.strip()):
            return self._login_page(target, WRONG_TOKEN)
        response = _see_other(target)
        set_cookie(response, self.auth, request)
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        response = _see_other("/admin/login" if self.auth.token_required else "/admin")
        clear_cookie(response)
        return response

    async def css(self, request: web.Request) -> web.Response:
        text = resources.files("bot.web").joinpath("admin.css").read_text("utf-8")
        return web.Response(
            text=text, content_type="text/css", headers={"Cache-Control": "max-age=3600"}
        )

    # -- pages -------------------------------------------------------------------------------

    def render(
        self, request: web.Request, title: str, tab: str, tenant: Tenant | None, body: str
    ) -> web.Response:
        signed_in = self.auth.cookie_valid(request.cookies.get(COOKIE))
        ws = data.workspace_key(tenant) if tenant else None
        return _html(page(title, [body], Nav(tab, ws, signed_in, self._tabs)))

    async def workspace(self, request: web.Request) -> tuple[list[Tenant], Tenant | None]:
        """Every workspace, and the chosen one (the only one when there is just one)."""
        tenants = await data.all_tenants()
        key = request.query.get("ws", "").strip()
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

    def choose(
        self, request: web.Request, title: str, tab: str, path: str, tenants: list[Tenant]
    ) -> web.Response:
        body = f"<h1>{esc(title)}</h1>" + picker(tenants, None, path)
        return self.render(request, title, tab, None, body)

    async def overview(self, request: web.Request) -> web.Response:
        tenants, tenant = await self.workspace(request)
        found = await data.overview(tenant, self.services.ledger) if tenant else None
        return self.render(
            request, "Channels", "overview", tenant, overview_body(tenants, tenant, found)
        )

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
