"""HTML of the admin pages: server-rendered, every value escaped, no JavaScript."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from bot.audit import Verification
from bot.storage.models import AuditEntry, Channel, ConsentEvent, Tenant
from bot.web.admin_data import PAGE_SIZE, Overview, workspace_key

Tab = tuple[str, str, str]  # (key, path, label)
TABS: tuple[Tab, ...] = (
    ("overview", "/admin", "Channels"),
    ("people", "/admin/people", "People"),
    ("consent", "/admin/consent", "Consent ledger"),
    ("activity", "/admin/activity", "Activity"),
    ("audit", "/admin/audit", "Audit log"),
)  # the core's tabs; plugged-in sections add theirs before the audit log


class Html(str):
    """Markup built here from escaped parts: inserted as is."""


def esc(value: object) -> str:
    if isinstance(value, Html):
        return value
    return html.escape("" if value is None else str(value), quote=True)


def href(path: str, **params: object) -> str:
    query = urlencode({k: str(v) for k, v in params.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


def link(url: str, text: object) -> Html:
    return Html(f'<a href="{esc(url)}">{esc(text)}</a>')


def badge(text: str) -> Html:
    return Html(f'<span class="badge {esc(text)}">{esc(text)}</span>')


def code(text: object, wrap: bool = False) -> Html:
    return Html(f'<code class="wrap">{esc(text)}</code>' if wrap else f"<code>{esc(text)}</code>")


def when(moment: datetime | None) -> Html:
    if moment is None:
        return Html("—")
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return Html(f'<span class="nowrap">{aware.astimezone(UTC):%Y-%m-%d %H:%M:%S}</span>')


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], current: int = -1) -> Html:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        mark = ' aria-current="true"' if index == current else ""
        cells = "".join(
            f'<td class="num">{esc(c)}</td>' if isinstance(c, int) else f"<td>{esc(c)}</td>"
            for c in row
        )
        body.append(f"<tr{mark}>{cells}</tr>")
    return Html(
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def paragraph(text: object, cls: str = "lead") -> Html:
    return Html(f'<p class="{cls}">{esc(text)}</p>')


def csrf_field(token: str) -> str:
    """The hidden field every form of a signed-in page carries (bot/web/admin_auth.py)."""
    return f'<input type="hidden" name="csrf" value="{esc(token)}">'


def action_form(action: str, csrf: str, label: str, cls: str = "btn", **fields: str) -> Html:
    """A one-button POST form: the way every change is made on these pages."""
    hidden = "".join(
        f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in fields.items()
    )
    return Html(
        f'<form class="inline" method="post" action="{esc(action)}">{csrf_field(csrf)}{hidden}'
        f'<button class="{esc(cls)}" type="submit">{esc(label)}</button></form>'
    )


@dataclass(frozen=True, slots=True)
class Nav:
    active: str
    workspace: str | None
    who: str | None  # the signed-in admin (None: the admin token)
    csrf: str = ""
    tabs: tuple[Tab, ...] = TABS


def _nav(nav: Nav) -> str:
    tabs = "".join(
        f'<a class="tab" href="{esc(href(path, ws=nav.workspace))}"'
        + (' aria-current="page"' if key == nav.active else "")
        + f">{esc(label)}</a>"
        for key, path, label in nav.tabs
    )
    ws = (
        f'<span class="ws">workspace <strong>{esc(nav.workspace)}</strong></span>'
        if nav.workspace
        else '<span class="ws">no workspace chosen</span>'
    )
    out = (
        f'<span class="ws">signed in as <strong>{esc(nav.who)}</strong></span>'
        '<form method="post" action="/admin/signout">'
        f'{csrf_field(nav.csrf)}<button type="submit">Sign out</button></form>'
        if nav.who
        else '<span class="ws">admin token · read-only</span>'
    )
    return (
        '<nav class="nav" aria-label="Admin pages"><span class="brand">Apprentice'
        f'<small>admin</small></span>{tabs}<span class="spacer"></span>{ws}{out}</nav>'
    )


def page(title: str, body: Iterable[str], nav: Nav | Html | None = None) -> str:
    """A whole page; `nav` is the admin tabs, or a header of another page's own."""
    top = _nav(nav) if isinstance(nav, Nav) else (nav or "")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · Apprentice admin</title>"
        '<link rel="icon" href="data:,"><link rel="stylesheet" href="/admin/admin.css">'
        f"</head><body>{top}<main>{''.join(body)}</main></body></html>"
    )


# -- workspaces and channels ---------------------------------------------------------------


def picker(tenants: Sequence[Tenant], chosen: Tenant | None, path: str = "/admin") -> Html:
    if not tenants:
        return paragraph(
            "No workspace yet: one appears when the bot first hears from a platform "
            "(or from the console).",
            "card muted",
        )
    rows = [
        (
            t.platform,
            code(t.external_id, wrap=True),
            when(t.created_at),
            "shown"
            if chosen and t.id == chosen.id
            else link(href(path, ws=workspace_key(t)), "open"),
        )
        for t in tenants
    ]
    current = next((i for i, t in enumerate(tenants) if chosen and t.id == chosen.id), -1)
    return Html(
        "<h2>Workspaces</h2>"
        + table(("platform", "workspace id", "first seen (UTC)", ""), rows, current)
    )


def _observe_form(csrf: str, unobserved: Sequence[str]) -> str:
    options = "".join(f'<option value="{esc(n)}">' for n in unobserved)
    return (
        '<form class="filters" method="post" action="/admin/channels/observe">'
        + csrf_field(csrf)
        + "<label>observe a channel (its name or id; the bot posts its notice there)"
        '<input type="text" name="channel" list="known-channels" required '
        'placeholder="#team"></label>'
        f'<datalist id="known-channels">{options}</datalist>'
        '<button class="btn" type="submit">Observe</button></form>'
    )


def overview_body(
    tenants: Sequence[Tenant],
    chosen: Tenant | None,
    data: Overview | None,
    csrf: str | None = None,
) -> str:
    parts = [
        "<h1>Workspaces and observed channels</h1>",
        paragraph(
            "Which channels the bot observes, who approved them, and how much is held. "
            "Nothing is read from anyone who did not opt in."
        ),
    ]
    parts.append(picker(tenants, chosen))
    if chosen is None or data is None:
        return "".join(parts)
    stats = (
        (data.people_in_force, "people with consent in force"),
        (data.messages_kept, "messages kept (redacted, encrypted)"),
        (data.consent_records, "consent records"),
    )
    parts.append(
        f'<h2>{esc(workspace_key(chosen))}</h2><div class="stats">'
        + "".join(
            f'<div class="stat"><div class="n">{n}</div><div class="what">{esc(w)}</div></div>'
            for n, w in stats
        )
        + "</div>"
    )
    parts.append("<h2>Channels</h2>")
    if csrf:
        parts.append(
            _observe_form(csrf, [c.name or c.channel_id for c in data.channels if not c.observed])
        )
    if not data.channels:
        parts.append(
            paragraph(
                "No channel is observed yet. An admin observes one in chat with "
                "/skill admin observe #channel.",
                "card muted",
            )
        )
        return "".join(parts)
    rows = [
        (
            c.name or "—",
            code(c.channel_id),
            badge("observed" if c.observed else "stopped"),
            c.approved_by or "—",
            when(c.approved_at),
            code(c.notice_message_id or "—", wrap=True),
            _channel_button(c, csrf),
        )
        for c in data.channels
    ]
    parts.append(
        table(
            (
                "name",
                "channel id",
                "status",
                "approved by",
                "approved at (UTC)",
                "notice message id",
                "",
            ),
            rows,
        )
    )
    return "".join(parts)


def _channel_button(channel: Channel, csrf: str | None) -> object:
    if not csrf:
        return ""
    if channel.observed:
        return action_form(
            "/admin/channels/unobserve",
            csrf,
            "Stop observing",
            "btn quiet",
            channel=channel.channel_id,
        )
    return action_form(
        "/admin/channels/observe", csrf, "Observe", "btn quiet", channel=channel.channel_id
    )


# -- consent ledger -----------------------------------------------------------------------


def _channels(ids: Sequence[str], names: dict[str, str]) -> str:
    if "*" in ids:
        return "all observed channels"
    return ", ".join(f"#{names[i]} ({i})" if names.get(i) else i for i in ids) or "—"


def consent_body(
    ws: str,
    events: Sequence[ConsentEvent],
    names: dict[str, str],
    users: Sequence[str],
    user: str | None,
) -> str:
    options = "".join(f'<option value="{esc(u)}">' for u in users)
    form = (
        '<form class="filters" method="get" action="/admin/consent">'
        f'<input type="hidden" name="ws" value="{esc(ws)}">'
        '<label>person (platform user id)<input type="text" name="user" list="ledger-users" '
        f'value="{esc(user or "")}" placeholder="everyone"></label>'
        f'<datalist id="ledger-users">{options}</datalist>'
        '<button class="btn" type="submit">Filter</button>'
        + (f" {link(href('/admin/consent', ws=ws), 'Show everyone')}" if user else "")
        + "</form>"
    )
    rows = [
        (
            e.id,
            code(e.user_id),
            badge(e.action),
            e.purpose,
            _channels(e.channels, names),
            Html(f'<span class="nowrap">{esc(e.notice_version)}</span>'),
            Html(f'<span class="mono">{esc(e.notice_sha256)}</span>'),
            e.language,
            when(e.occurred_at),
            e.mechanism,
            code(e.mechanism_ref, wrap=True),
            e.by_admin or "—",
        )
        for e in events
    ]
    parts = [
        "<h1>Consent ledger</h1>",
        paragraph(
            "Every grant, decline and withdrawal, append-only, newest first, with what "
            "was agreed to: the notice version and the SHA-256 of its exact words. "
            "It holds no message text."
        ),
        form,
    ]
    if not rows:
        who = f"{user} has" if user else "Nobody has"
        parts.append(
            paragraph(f"{who} answered a consent notice in this workspace yet.", "card muted")
        )
        return "".join(parts)
    parts.append(
        table(
            (
                "#",
                "user",
                "action",
                "purpose",
                "channels",
                "notice version",
                "notice SHA-256",
                "language",
                "time (UTC)",
                "mechanism",
                "reference",
                "revoked by admin",
            ),
            rows,
        )
    )
    parts.append(_pager("/admin/consent", events, ws=ws, user=user))
    return "".join(parts)


def _pager(path: str, rows: Sequence[ConsentEvent | AuditEntry], **params: object) -> str:
    if len(rows) < PAGE_SIZE:
        return ""
    older = href(path, **params, before=rows[-1].id)
    return f'<p class="pager"><a class="btn quiet" href="{esc(older)}">Older entries →</a></p>'


# -- audit log ----------------------------------------------------------------------------


def audit_body(
    ws: str,
    check: Verification,
    entries: Sequence[AuditEntry],
    user: str | None,
    pseudonym: str | None,
) -> str:
    if check.ok:
        verdict = (
            f'<div class="check ok">✓ Audit chain intact: all {check.entries} entries '
            "(every workspace) verify.</div>"
        )
    else:
        verdict = (
            f'<div class="check bad">✗ Audit chain {esc(check.verdict)} '
            f"(of {check.entries} checked): {esc(check.problem or '')}. "
            "Restore the database from a backup and compare.</div>"
        )
    form = (
        '<form class="filters" method="get" action="/admin/audit">'
        f'<input type="hidden" name="ws" value="{esc(ws)}">'
        '<label>person (platform user id, shown as their pseudonym)<input type="text" '
        f'name="user" value="{esc(user or "")}" placeholder="everyone"></label>'
        '<button class="btn" type="submit">Filter</button>'
        + (f' <span class="muted">pseudonym {code(pseudonym)}</span>' if pseudonym else "")
        + "</form>"
    )
    rows = [
        (
            e.id,
            when(e.occurred_at),
            e.action,
            code(e.actor),
            code(e.subject or "—"),
            " ".join(f"{k}={v}" for k, v in sorted(e.detail.items())) or "—",
        )
        for e in entries
    ]
    parts = [
        "<h1>Audit log</h1>",
        verdict,
        paragraph(
            "Content-free and tamper-evident: an HMAC chain of what happened, with people shown "
            "by pseudonym. Erasing a person never edits it."
        ),
        form,
    ]
    if not rows:
        parts.append(paragraph("No audit entries for this workspace yet.", "card muted"))
        return "".join(parts)
    parts.append(table(("#", "time (UTC)", "action", "actor", "subject", "detail"), rows))
    parts.append(_pager("/admin/audit", entries, ws=ws, user=user))
    return "".join(parts)


# -- signing in, refusals and errors ---------------------------------------------------------


def message_body(title: str, text: str, back: str = "/admin") -> str:
    return (
        f"<h1>{esc(title)}</h1>"
        + paragraph(text, "card")
        + f"<p>{link(back, 'Back to the admin pages')}</p>"
    )
