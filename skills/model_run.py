"""A skill run through the model: consent first, then a redacted and bounded prompt, a validated
answer, and the offline result (with a note saying why) whenever the model fails.

Only the words of people who hold the "model" grant go out: the requester's own messages or
pasted text, and the template parts (headings, rule wording, meeting types) taught by someone
who agreed to the model provider too.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.consent.ledger import ConsentLedger
from bot.consent.notices import Purpose
from bot.redact import redact
from bot.storage.models import Tenant
from skills import llm
from skills.kind import RunRequest
from skills.material import live_user_ids
from skills.structured import KINDS, Source, render
from skills.visibility import authors, visible_template

MAX_SOURCES = 24
MODEL_MARK = "(Written by the model; every line was checked against your material.)"
_NOT_USED = "(The model was not used: {why}, so this is the offline result.)"


@dataclass(frozen=True, slots=True)
class ModelRun:
    text: str
    data: dict | None = None  # the validated answer when the model's version is shown


async def run_with_model(
    model: llm.ModelClient,
    ledger: ConsentLedger,
    tenant: Tenant,
    kind: str,
    artifact: dict,
    request: RunRequest,
    offline: str,
) -> ModelRun:
    """The model's version of a successful offline run, or the offline text (noted if tried)."""
    if not model.enabled or kind not in KINDS:
        return ModelRun(offline)
    if not await ledger.live_grant(tenant, request.requester, Purpose.MODEL):
        return ModelRun(offline)  # nothing is sent
    view = visible_template(artifact.get("template", {}), request.live)
    writers = {m.author for m in request.materials} | {request.requester}
    asked = await live_user_ids(tenant, ledger, authors(view) | writers, Purpose.MODEL)
    model_live = asked & (request.live | {request.requester})
    builder = {"weekly-report": _weekly, "code-review": _review, "meeting-memo": _memo}[kind]
    built = builder(view, artifact, request, model_live)
    if isinstance(built, str):
        return ModelRun(offline + "\n" + _NOT_USED.format(why=built))
    prompt, source = built
    data, failure = await llm.structured_outcome(model, kind, prompt, source)
    if data is None:
        return ModelRun(
            offline + "\n" + (llm.FALLBACK_NOTE if failure == "unavailable" else llm.INVALID_NOTE)
        )
    return ModelRun(render(kind, data, source) + "\n" + MODEL_MARK, data)


def _weekly(
    view: dict, artifact: dict, request: RunRequest, model_live: set[str]
) -> tuple[str, Source] | str:
    sections = view.get("sections", [])
    if any(s.get("authors") and not set(s["authors"]) & model_live for s in sections):
        return "some sections of the template come from people who did not agree to the model"
    label = request.period_label
    title = view.get("title") or ""
    if not title or not set(view.get("title_authors", [])) & model_live:
        title = "Weekly report {week}"
    title = title.replace("{week}", label).replace("{date}", request.now.strftime("%Y-%m-%d"))
    headings = tuple(s["heading"] for s in sections)
    instructions = (
        f"Write the weekly report of {label} as JSON, from the numbered messages below (all "
        f'by the person asking). The title contains "{label}", like "{title}". The sections '
        "have exactly these headings, in this order: "
        + "; ".join(f'"{h}"' for h in headings)
        + ". Each item is one piece of work from the messages, in their words; `sources` are "
        "the numbers of the messages it comes from. Leave a section's items empty when nothing "
        "fits; add nothing that is not in the messages."
    )
    body = artifact.get("body", "")
    if artifact.get("body_source") == "model" and set(artifact.get("body_authors", [])) <= (
        model_live
    ):
        instructions += "\n\nThe team's instructions:\n" + llm.cut(body, 300)
    own = sorted(
        (m for m in request.materials if m.author == request.requester),
        key=lambda m: m.occurred_at,
    )
    picked = own[:: max(1, len(own) // MAX_SOURCES)][:MAX_SOURCES]
    budget = llm.TOKEN_BUDGET - llm.estimate_tokens(instructions) - 8 * len(picked) - 50
    texts = llm.sample([m.text for m in picked], budget, limit=len(picked))
    if not texts:
        return "none of your messages fit the model's input limit"
    numbered = "\n".join(f"[{n}] " + t.replace("\n", "\n    ") for n, t in enumerate(texts, 1))
    source = Source(
        kind="weekly-report",
        messages=tuple(texts),
        labels=tuple(f"#{m.channel} {m.occurred_at:%a %d %b %H:%M}" for m in picked),
        headings=headings,
        week=label,
        heading_style=view.get("heading_style", "*{h}*"),
        bullet=view.get("bullet", "-"),
    )
    return llm.build_prompt(instructions, "Messages:\n" + numbered, ()), source


def _review(
    view: dict, artifact: dict, request: RunRequest, model_live: set[str]
) -> tuple[str, Source] | str:
    rules: dict[str, str] = {}
    for rule in view.get("rules", []):
        wording = next(
            (q["text"] for q in rule.get("quotes", []) if q.get("author") in model_live),
            "" if rule.get("authors") else rule.get("text", ""),
        )
        if wording.strip():
            rules[rule["id"]] = redact(wording)
    if not rules:
        return "none of the people who taught these rules agreed to the model provider"
    snippet = "\n".join(
        line for line in request.input_text.splitlines() if not line.strip().startswith("```")
    )
    listed = "\n".join(f"{rule_id}: {text}" for rule_id, text in rules.items())
    instructions = (
        "Review the numbered code below against the team's rules, as JSON. Add one finding for "
        "each line that breaks a rule: `rule` is the rule's id, `line` the line's number and "
        "`code` that line copied exactly. Use only these rules; no findings when none is "
        "broken.\nRules:\n" + listed
    )
    budget = llm.TOKEN_BUDGET - llm.estimate_tokens(instructions) - 50
    lines: list[str] = []
    for line in redact(snippet).splitlines():
        budget -= llm.estimate_tokens(line) + 2
        if budget < 0:
            break
        lines.append(line)
    numbered = "\n".join(f"{n}| {line}" for n, line in enumerate(lines, 1))
    source = Source(kind="code-review", rules=rules, code=tuple(lines))
    return llm.build_prompt(instructions, "Code:\n" + numbered, ()), source


def _memo(
    view: dict, artifact: dict, request: RunRequest, model_live: set[str]
) -> tuple[str, Source] | str:
    notes = request.input_text
    if not notes.strip():
        if {m.author for m in request.materials} - model_live:
            return "not everyone who wrote in this thread agreed to the model provider"
        notes = "\n".join(m.text for m in request.materials)
    types = tuple(
        t["name"] for t in view.get("types", []) if set(t.get("authors", [])) & model_live
    )
    instructions = (
        "Write the memo of the meeting notes below as JSON: `type` is the kind of meeting"
        + (f" (one of: {', '.join(types)}; or null)" if types else " (or null)")
        + ", `decisions` the decisions taken, `actions` the action items (`owner` only when "
        "the notes name who does it, else null; `due` only when the notes give a date, else "
        "null), `unaddressed` what was left open: questions nobody answered, actions with no "
        "owner, decisions reopened without resolution. Use the notes' own words and language; "
        "add nothing that is not in the notes."
    )
    budget = llm.TOKEN_BUDGET - llm.estimate_tokens(instructions) - 50
    sent = llm.cut(redact(notes), budget)
    source = Source(kind="meeting-memo", notes=sent, types=types)
    return llm.build_prompt(instructions, "Notes:\n" + sent, ()), source
