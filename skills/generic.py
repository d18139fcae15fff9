"""Skills taught by example (`/skill teach NAME`): a headed template mined from the examples."""

from __future__ import annotations

from collections.abc import Sequence

from skills.kind import Learned, RunRequest, RunResult, contributors_of
from skills.material import Material
from skills.template import mine
from skills.weekly_report import fill, template_summary


class TaughtTemplate:
    name = "template"
    description = (
        "Fills a template the team taught by example, from your own messages or pasted text."
    )
    input = "week"

    def learn(self, materials: Sequence[Material]) -> Learned | None:
        mined = mine(materials, weekly=False)
        if mined is None:
            return None
        template, provenance = mined
        return Learned(template, provenance, contributors_of(materials, set(provenance["inputs"])))

    def run(self, template: dict, request: RunRequest) -> RunResult:
        if not template.get("sections") and template.get("instructions"):
            return RunResult(
                "This skill was made by another tool and has no template I can fill by myself. "
                "Its instructions:\n" + template["instructions"][:1500],
                ok=False,
            )
        if request.input_text.strip():
            pasted = Material(
                id="input",
                author=request.requester,
                text=request.input_text,
                occurred_at=request.now,
                channel="input",
            )
            request = RunRequest(
                requester=request.requester,
                live=request.live,
                now=request.now,
                input_text=request.input_text,
                materials=[pasted],
                period_label=request.period_label,
            )
        return fill(template, request, fallback_title="{week}")

    def summary(self, template: dict) -> list[str]:
        return template_summary(template)
