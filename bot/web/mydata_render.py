"""HTML of the "my data" page: counts, consents with their notices, skills, and the buttons."""

from __future__ import annotations

from collections.abc import Iterable

from bot.consent.notices import Notice
from bot.mydata import Held
from bot.web.admin_render import Html, action_form, code, esc, link, paragraph, table, when
from bot.web.admin_render import page as admin_page

DONE = {"withdrawn": "Stopped: nothing you write from now on is kept. Your DMs have the details."}
CONFIRM = {
    "withdraw": (
        "Stop taking part?",
        "From now on nothing you write is kept or learned from, and what skills learned from "
        "you is hidden at once. What is held stays until it expires or you erase it. You can "
        "opt in again at any time with /skill optin.",
        "Yes, stop now",
    ),
    "erase": (
        "Erase everything held about you?",
        "This withdraws every consent, deletes every message kept, destroys your encryption "
        "key and rebuilds every skill without you. It cannot be undone. Your receipt comes by "
        "direct message; the consent ledger keeps only the record that you agreed and withdrew.",
        "Yes, erase everything",
    ),
}


def my_page(title: str, body: Iterable[str]) -> str:
    nav = Html(
        '<nav class="nav" aria-label="Your data"><span class="brand">Apprentice'
        "<small>your data</small></span></nav>"
    )
    return admin_page(title, body, nav)


def _button_link(url: str, text: str, cls: str) -> str:
    return f'<a class="btn {cls}" href="{esc(url)}">{esc(text)}</a>'


def _consents(held: Held, notices: dict[tuple[str, str], Notice]) -> str:
    grants = [e for e in held.history if e.action == "grant"]
    if not grants:
        return paragraph("You have not agreed to anything.", "card muted")
    parts = []
    for e in reversed(grants):
        live = e.purpose in held.live
        shown = notices.get((e.purpose, e.language))
        if shown is not None and shown.sha256 == e.notice_sha256:
            text = (
                "<details><summary>The notice you agreed to</summary>"
                f'<pre class="notice-text">{esc(shown.text)}</pre></details>'
            )
        else:
            text = paragraph(
                "The notice has changed since; your record keeps the version and the SHA-256 "
                "of the words you saw.",
                "muted",
            )
        parts.append(
            f'<li class="card"><strong>{esc(e.purpose)}</strong> · '
            f"{'in force' if live else 'no longer in force'} · agreed {when(e.occurred_at)} · "
            f"notice {esc(e.notice_version)} {code(e.notice_sha256, wrap=True)}{text}</li>"
        )
    return f'<ul class="items">{"".join(parts)}</ul>'


def mydata_body(
    held: Held, notices: dict[tuple[str, str], Notice], csrf: str, done: str = ""
) -> str:
    note = DONE.get(done)
    kept = held.observations
    span = Html(f"from {when(kept[0].occurred_at)} to {when(kept[-1].occurred_at)}") if kept else ""
    parts = [
        f'<p class="check ok" role="status">{esc(note)}</p>' if note else "",
        f"<h1>What Apprentice holds about {esc(held.user_id)}</h1>",
        paragraph(
            f"In workspace {held.platform}:{held.tenant}. Consent in force: "
            f"{', '.join(held.live) or 'none'}."
        ),
        '<div class="stats">'
        f'<div class="stat"><div class="n">{len(kept)}</div>'
        '<div class="what">messages kept (redacted, encrypted)</div></div>'
        f'<div class="stat"><div class="n">{len(held.skills)}</div>'
        '<div class="what">skill versions that learned from you</div></div>'
        f'<div class="stat"><div class="n">{len(held.history)}</div>'
        '<div class="what">consent records</div></div></div>',
        "<h2>Messages kept, per channel</h2>",
        table(("channel", "messages"), list(held.per_channel.items()))
        if kept
        else paragraph("None.", "card muted"),
        f"<p>{span}</p>" if span else "",
        "<h2>What you agreed to</h2>",
        _consents(held, notices),
        "<h2>Skills you contributed to</h2>",
        table(
            ("skill", "version", "team", "times it ran"),
            [(n, f"v{v}", t, r) for n, v, r, t in held.skills],
        )
        if held.skills
        else paragraph("None.", "card muted"),
        "<h2>Your copy, and your choices</h2>",
        '<div class="actions">',
        _button_link("/mydata/export.json", "Download everything (JSON)", ""),
        _button_link("/mydata/withdraw", "Stop taking part…", "quiet") if held.live else "",
        _button_link("/mydata/erase", "Erase everything…", "danger"),
        "</div>",
        f'<form method="post" action="/mydata/signout"><input type="hidden" name="csrf" '
        f'value="{esc(csrf)}"><button class="btn quiet" type="submit">Sign out</button></form>',
    ]
    return "".join(parts)


def confirm_body(what: str, csrf: str) -> str:
    title, text, button = CONFIRM[what]
    return (
        f"<h1>{esc(title)}</h1>"
        + paragraph(text, "card")
        + '<div class="actions">'
        + action_form(f"/mydata/{what}", csrf, button, "btn danger", confirm=what)
        + f" {link('/mydata', 'No, go back')}</div>"
    )


def erased_body() -> str:
    return "<h1>Everything is erased</h1>" + paragraph(
        "Apprentice holds nothing about you any more; your receipt is in your direct "
        "messages. You are signed out.",
        "card",
    )
