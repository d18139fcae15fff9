"""HTML of signing in: the "sign in from chat" page, a link's confirmation, its refusals."""

from __future__ import annotations

from bot.web.admin_render import esc, page, paragraph
from bot.web.signin import LINK_SECONDS, Kind, LinkState

WHAT = {Kind.ADMIN: "the admin pages", Kind.PERSON: "your data page"}
COMMAND = {Kind.ADMIN: "/skill admin web", Kind.PERSON: "/skill mydata"}
REFUSALS = {
    LinkState.USED: (
        "This link was already used",
        "A sign-in link works once, and this one has been opened before. If that was not you, "
        "tell an admin.",
    ),
    LinkState.EXPIRED: (
        "This link has expired",
        f"A sign-in link works for {LINK_SECONDS // 60} minutes after it is sent, and this "
        "one is older.",
    ),
    LinkState.UNKNOWN: (
        "This link is not valid",
        "It was not made by this Apprentice, or part of it is missing. Copy the whole link "
        "from the chat message.",
    ),
}


def _how(kind: Kind) -> str:
    return (
        f"Type <code>{esc(COMMAND[kind])}</code> in a direct message with the bot: it sends you "
        f"a link that signs you in once, for {LINK_SECONDS // 60} minutes."
    )


def ask_to_sign_in(kind: Kind) -> str:
    server = (
        paragraph(
            "On the server, an operator can print one: "
            "apprentice admin-link --as PLATFORM:WORKSPACE:USER",
            "muted",
        )
        if kind is Kind.ADMIN
        else ""
    )
    return page(
        "Sign in from chat",
        [
            f'<div class="login card"><h1>Sign in from chat</h1>'
            f'<p class="lead">To open {esc(WHAT[kind])}, sign in first. '
            f"{_how(kind)}</p>{server}</div>"
        ],
    )


def confirm_link(kind: Kind, action: str, who: str, workspace: str) -> str:
    return page(
        "Sign in",
        [
            '<div class="login card"><h1>Sign in</h1>'
            + paragraph(f"You are signing in to {WHAT[kind]} as {who} in workspace {workspace}.")
            + f'<form method="post" action="{esc(action)}">'
            '<button class="btn" type="submit" autofocus>Sign in</button></form>'
            + paragraph("The link works once: it is spent when you press the button.", "muted")
            + "</div>"
        ],
    )


def refuse_link(kind: Kind, state: LinkState) -> str:
    title, text = REFUSALS.get(state, REFUSALS[LinkState.UNKNOWN])
    return page(
        title,
        [
            f'<div class="login card"><h1>{esc(title)}</h1>'
            f'<p class="error" role="alert">{esc(text)}</p>'
            f'<p class="lead">To get a new one: {_how(kind)}</p></div>'
        ],
    )


def refuse_post(reason: str) -> str:
    return page(
        "Refused",
        [
            '<div class="login card"><h1>That request was refused</h1>'
            f'<p class="error" role="alert">{esc(reason)}</p>'
            + paragraph(
                "Forms here work only from these pages themselves. Open the page again, "
                "and use its button."
            )
            + "</div>"
        ],
    )
