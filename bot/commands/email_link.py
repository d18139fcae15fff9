"""`/skill link-email ADDRESS`: a person links their own e-mail address, for mail imports.

The person names the address and confirms it (a button, or typing the confirm command), so a
typo never makes someone else's mail theirs; `/skill link-email` lists their links and
`/skill link-email remove ADDRESS` ends one. Only people who opted in (and so have a key)
can link; mail is imported only with their history consent, through the same gate.
"""

from __future__ import annotations

import json

from bot.consent.ledger import Mechanism
from bot.context import Args, Context
from bot.email_links import EmailLinks, Linked, normalize_address
from bot.events import Action
from bot.outbound import Button, ButtonStyle
from bot.router import Router

router = Router()

CONFIRM = "email.confirm"
CANCEL = "email.cancel"
USAGE = "link-email [ADDRESS | confirm ADDRESS | remove ADDRESS]"


@router.command(
    "link-email",
    summary="link your e-mail address, so mail you wrote can be imported (with your consent)",
    usage=USAGE,
)
async def link_email(ctx: Context, args: Args) -> None:
    person = await ctx.services.people.find(ctx.tenant, ctx.user_id)
    if person is None:
        await ctx.dm(
            "Only people who agreed to be observed can link an address: `/skill optin` first, "
            "and `/skill optin history` for mail to be imported."
        )
        return
    links = EmailLinks(ctx.services.vault)
    verb = args.first()
    if not args.words:
        found = await links.addresses(person)
        listed = ", ".join(found) if found else "none"
        await ctx.dm(f"Your linked addresses: {listed}. `/skill {USAGE}`.", personal=True)
        return
    words = args.words[1:] if verb in ("confirm", "remove") else args.words
    address = normalize_address(" ".join(words)) if len(words) == 1 else None
    if address is None:
        await ctx.dm(f"That is not one e-mail address. Use `/skill {USAGE}`.")
        return
    if verb == "remove":
        removed = await links.unlink(person, address)
        if removed:
            await ctx.audit("email.unlink")
        await ctx.dm(
            f"Unlinked {address}." if removed else f"{address} was not linked to you.",
            personal=True,
        )
    elif verb == "confirm":
        await _confirm(ctx, links, address, "command:link-email.confirm")
    else:
        value = json.dumps({"a": address})
        await ctx.dm(
            f"Link {address} to you? Mail *sent from* it — only your own words, never quotes, "
            "signatures or attachments — can then be imported into a channel an admin names, "
            "if you agreed to history import. Only confirm an address that is yours: click "
            f"Confirm, or type `/skill link-email confirm {address}`.",
            (
                Button("Confirm", CONFIRM, value, ButtonStyle.PRIMARY),
                Button("Cancel", CANCEL, value),
            ),
            personal=True,
        )
    if not ctx.in_dm:
        await ctx.reply("I've sent you a direct message.")


@router.action(CONFIRM)
async def confirm(ctx: Context, action: Action) -> None:
    try:
        address = normalize_address(str(json.loads(action.value)["a"]))
    except (ValueError, KeyError, TypeError):
        address = None
    if address is None:
        await ctx.dm("That button's value is not one I made. Type `/skill link-email ADDRESS`.")
        return
    await _confirm(
        ctx, EmailLinks(ctx.services.vault), address, f"{action.via}:{CONFIRM}", action.message_ref
    )


@router.action(CANCEL)
async def cancel(ctx: Context, action: Action) -> None:
    await ctx.dm("Cancelled: nothing was linked.", replace_ref=action.message_ref)


async def _confirm(
    ctx: Context, links: EmailLinks, address: str, how: str, replace_ref: str | None = None
) -> None:
    person = await ctx.services.people.find(ctx.tenant, ctx.user_id)
    if person is None:
        await ctx.dm("Only people who agreed to be observed can link an address: `/skill optin`.")
        return
    result = await links.link(person, address, Mechanism(how, ctx.event.id))
    if result is Linked.TAKEN:
        await ctx.dm(
            f"{address} is linked to someone else in this workspace. If it is yours, ask them "
            "to `/skill link-email remove` it, or an admin.",
            personal=True,
        )
        return
    if result is Linked.LINKED:
        await ctx.audit("email.link", mechanism=how)
    await ctx.dm(
        f"✅ {address} is linked to you. `/skill link-email remove {address}` unlinks it; "
        "`/skill forget` erases it with everything else.",
        personal=True,
        replace_ref=replace_ref,
    )
