"""`/skill optin`, `/skill optout` and the Agree / No thanks buttons."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.consent.ledger import ALL_CHANNELS, Mechanism
from bot.consent.notices import (
    LANGUAGES,
    PURPOSE_WORDS,
    Notice,
    Purpose,
    Terms,
    current_version,
    notice_version,
    notice_with,
    pick_language,
)
from bot.context import Args, Context
from bot.events import Action, Command
from bot.mentions import channel_ref
from bot.outbound import Button, ButtonStyle
from bot.router import Router

router = Router()

AGREE = "consent.agree"
DECLINE = "consent.decline"
PURPOSE_NAMES = {purpose: word or "observe" for word, purpose in PURPOSE_WORDS.items()}
YES_WORDS = frozenset({"yes", "y", "agree", "同意", "是"})
NO_WORDS = frozenset({"no", "n", "decline", "不同意", "否"})
BARE_ANSWERS = frozenset({"同意", "不同意"})  # what the Chinese notices say to reply
TRAILING_PUNCTUATION = "。.!！~～"


def notice_for(ctx: Context, purpose: Purpose, language: str | None = None) -> Notice:
    """The notice in `language`, or in the person's own language, or the workspace's."""
    settings = ctx.services.settings
    language = language or pick_language(ctx.event.actor.locale, settings.locale)
    return notice_with(purpose, language, Terms.of(settings))


def consent_buttons(
    purpose: Purpose,
    channels: list[str],
    language: str | None = None,
    *,
    shown: Notice | None = None,
) -> tuple[Button, ...]:
    """Agree / No thanks, carrying what was shown: purpose, version, hash, scope, language."""
    value_of: dict[str, object] = {
        "p": purpose.value,
        "v": current_version(purpose),
        "ch": channels,
    }
    if shown is not None:
        value_of.update(v=shown.version, h=shown.sha256)
        language = shown.language
    if language:
        value_of["l"] = language
    value = json.dumps(value_of)
    return (
        Button("Agree", AGREE, value, ButtonStyle.PRIMARY),
        Button("No thanks", DECLINE, value),
    )


async def send_notice(ctx: Context, purpose: Purpose, channels: list[str] | None = None) -> None:
    """DM the notice with Agree / No thanks to the person who acted, and remember it was
    shown (version, language, scope): a typed answer answers exactly this notice."""
    shown = notice_for(ctx, purpose)
    scope = channels or [ALL_CHANNELS]
    sent = await ctx.dm(shown.text, consent_buttons(purpose, scope, shown=shown))
    if sent is not None:
        ledger = ctx.services.ledger
        await ledger.record_shown(ctx.tenant, ctx.user_id, shown, scope, sent.message_id)


def typed_answer(text: str) -> Command | None:
    """同意 / 不同意 sent on its own in a direct message: the answer to the notice shown last."""
    word = text.strip().rstrip(TRAILING_PUNCTUATION).strip().lower()
    if word in BARE_ANSWERS:
        return Command(name=word)
    return None


def _answer_in(args: Args) -> tuple[bool, Purpose] | None:
    """`yes` / `no` (or `model yes`, `history no`) after `/skill optin`; None otherwise."""
    words = [word.lower() for word in args.words]
    if not 1 <= len(words) <= 2 or words[-1] not in YES_WORDS | NO_WORDS:
        return None
    purpose = PURPOSE_WORDS.get(words[0]) if len(words) == 2 else Purpose.OBSERVE
    return (words[-1] in YES_WORDS, purpose) if purpose is not None else None


async def answer_by_text(ctx: Context, yes: bool, purpose: Purpose | None) -> None:
    """A typed Agree / No thanks: for the notice last shown (of `purpose`, if named)."""
    ledger = ctx.services.ledger
    shown = await ledger.last_shown(ctx.tenant, ctx.user_id, purpose)
    terms = Terms.of(ctx.services.settings)
    current = shown is not None and shown.notice_version == notice_version(
        Purpose(shown.purpose), terms
    )
    if shown is None or not current:
        wanted = purpose or (Purpose(shown.purpose) if shown else Purpose.OBSERVE)
        if yes:  # agreeing needs the words first: show them, and ask again
            await _show_first(ctx, wanted, changed=shown is not None)
            return
        _, no = consent_buttons(wanted, [ALL_CHANNELS])  # no needs nothing read
        await decline(ctx, Action(DECLINE, no.value, via="text"))
        return
    assert shown is not None
    asked = Purpose(shown.purpose)
    channels = list(shown.channels or [ALL_CHANNELS])
    grant = await ledger.live_grant(ctx.tenant, ctx.user_id, asked)
    if (
        yes
        and grant is not None
        and (ALL_CHANNELS in grant.channels or (set(channels) <= set(grant.channels)))
    ):
        await ctx.dm(f"You already agreed on {grant.occurred_at:%Y-%m-%d}; nothing to change.")
        return
    # The version matched today's, so today's text in that language is the text they saw.
    seen = notice_for(ctx, asked, shown.language)
    agree_button, decline_button = consent_buttons(asked, channels, shown=seen)
    button = agree_button if yes else decline_button
    handler = agree if yes else decline
    # The answer replaces the notice's buttons, as a click would (where the platform can).
    await handler(ctx, Action(button.action_id, button.value, shown.message_ref, via="text"))


async def _show_first(ctx: Context, purpose: Purpose, *, changed: bool) -> None:
    if changed:
        await ctx.dm("The notice changed since I last showed it to you. Here is the current one:")
    await send_notice(ctx, purpose)
    if not ctx.in_dm:
        await ctx.reply("I've sent you a direct message with what you would agree to.")


def _purpose_and_channels(args: Args) -> tuple[Purpose | None, list[str]]:
    words = list(args.words)
    purpose = Purpose.OBSERVE
    if words and not words[0].startswith(("#", "<#")):
        purpose_word = words.pop(0).lower()
        if purpose_word not in PURPOSE_WORDS:
            return None, []
        purpose = PURPOSE_WORDS[purpose_word]
    return purpose, [channel_ref(word) for word in words]


@router.command(
    "optin",
    summary="read what Apprentice would keep, then Agree or say No thanks",
    usage="optin [model|history] [#channel…] · optin [model|history] yes|no",
)
async def optin(ctx: Context, args: Args) -> None:
    answer = _answer_in(args)
    if answer is not None:
        await answer_by_text(ctx, *answer)
        return
    purpose, channels = _purpose_and_channels(args)
    if purpose is None:
        await ctx.reply(
            "I know these consents: `/skill optin`, `/skill optin model`, "
            "`/skill optin history`. Which one did you mean?"
        )
        return
    grant = await ctx.services.ledger.live_grant(ctx.tenant, ctx.user_id, purpose)
    if grant is not None and not channels:
        await ctx.reply(
            f"You already agreed on {grant.occurred_at:%Y-%m-%d}. "
            f"`/skill optout{'' if purpose is Purpose.OBSERVE else ' ' + args.first()}` stops it."
        )
        return
    await send_notice(ctx, purpose, channels or None)
    if not ctx.in_dm:
        await ctx.reply("I've sent you a direct message with what I would keep and two buttons.")


@router.command(
    "optout",
    summary="stop now: nothing you write from now on is kept",
    usage="optout [model|history]",
)
async def optout(ctx: Context, args: Args) -> None:
    purpose, _ = _purpose_and_channels(args)
    if purpose is None:
        await ctx.reply("Use `/skill optout`, `/skill optout model` or `/skill optout history`.")
        return
    mechanism = Mechanism("command:optout", ctx.event.id)
    withdrawn = await ctx.services.ledger.withdraw(ctx.tenant, ctx.user_id, purpose, mechanism)
    if withdrawn is None:
        await ctx.dm("You had not agreed to that, so there was nothing to stop.")
        return
    await ctx.audit(
        "consent.withdraw",
        purpose=purpose.value,
        mechanism=mechanism.kind,
    )
    await ctx.dm(
        f"Done: your consent to *{PURPOSE_NAMES[purpose]}* is withdrawn and nothing further is "
        "kept. What was kept before stays until it expires or you `/skill forget`; "
        "`/skill mydata` shows it."
    )


@router.command("同意", summary="agree to the notice shown last (typed answer)", hidden=True)
async def agree_typed(ctx: Context, args: Args) -> None:
    await answer_by_text(ctx, True, None)


@router.command("不同意", summary="decline the notice shown last (typed answer)", hidden=True)
async def decline_typed(ctx: Context, args: Args) -> None:
    await answer_by_text(ctx, False, None)


@dataclass(frozen=True, slots=True)
class Choice:
    """What a consent button says was shown to the person."""

    purpose: Purpose
    version: str
    channels: list[str]
    language: str | None
    sha256: str | None = None  # of the text shown with the button


def _parse_choice(action: Action) -> Choice | None:
    try:
        value = json.loads(action.value)
        language = value.get("l")
        return Choice(
            purpose=Purpose(value["p"]),
            version=str(value["v"]),
            channels=[str(c) for c in value.get("ch") or [ALL_CHANNELS]],
            language=language if language in LANGUAGES else None,
            sha256=str(value["h"]) if value.get("h") else None,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


@router.action(AGREE)
async def agree(ctx: Context, action: Action) -> None:
    choice = _parse_choice(action)
    if choice is None:
        await ctx.dm(
            "That button's value is not one I made. Type `/skill optin` for a fresh notice."
        )
        return
    purpose, channels = choice.purpose, choice.channels
    shown = notice_for(ctx, purpose, choice.language)
    if choice.sha256 != shown.sha256:
        # The text behind that button is not today's (retention, provider or words changed):
        # agreeing to it would record words nobody showed them.
        await ctx.dm("The notice changed since that message. Here is the current one:")
        await send_notice(ctx, purpose, channels)
        return
    mechanism = Mechanism(f"{action.via}:{AGREE}", ctx.event.id)
    await ctx.services.people.ensure(ctx.tenant, ctx.event.actor)
    await ctx.services.ledger.grant(ctx.tenant, ctx.user_id, shown, mechanism, channels)
    await ctx.audit(
        "consent.grant",
        purpose=purpose.value,
        notice_version=shown.version,
        mechanism=mechanism.kind,
    )
    scope = (
        "all observed channels"
        if ALL_CHANNELS in channels
        else ", ".join("#" + c for c in channels)
    )
    await ctx.dm(
        f"✅ Thank you — you agreed to *{PURPOSE_NAMES[purpose]}* ({scope}), notice "
        f"{shown.version}. `/skill optout` stops it at any time; "
        "`/skill forget` erases everything.",
        replace_ref=action.message_ref,
    )


@router.action(DECLINE)
async def decline(ctx: Context, action: Action) -> None:
    choice = _parse_choice(action)
    if choice is None:
        await ctx.dm(
            "That button's value is not one I made. Type `/skill optin` for a fresh notice."
        )
        return
    purpose = choice.purpose
    shown = notice_for(ctx, purpose, choice.language)
    mechanism = Mechanism(f"{action.via}:{DECLINE}", ctx.event.id)
    await ctx.services.ledger.decline(ctx.tenant, ctx.user_id, shown, mechanism)
    await ctx.audit(
        "consent.decline",
        purpose=purpose.value,
        notice_version=shown.version,
    )
    await ctx.dm(
        "👍 No problem — nothing you write will be kept. I won't ask again unless the notice "
        "changes; `/skill optin` if you change your mind.",
        replace_ref=action.message_ref,
    )
