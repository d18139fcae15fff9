"""The LLM engine: any OpenAI-compatible endpoint, used only with the "model" consent.

Every text sent is redacted again and the whole prompt is bounded by a fixed token budget,
whatever the corpus size: examples are sampled evenly and cut, never sent in full. Timeouts,
429s, 5xx and connection failures return None, and callers keep the offline result.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import openai
import structlog
from openai import AsyncOpenAI

from bot.redact import redact
from bot.settings import Settings
from skills.structured import Source, bounded, schema, validate

log = structlog.get_logger(__name__)

TOKEN_BUDGET = 2000  # input tokens per call
MAX_OUTPUT_TOKENS = 800
MAX_EXAMPLES = 12
_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")

FALLBACK_NOTE = (
    "(The model provider did not answer, so this is the offline result. "
    "Try again later for the model's version.)"
)
INVALID_NOTE = (
    "(The model's answer failed validation against your material twice, so this is the "
    "offline result.)"
)
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


def estimate_tokens(text: str) -> int:
    """A conservative estimate: ~4 Latin characters per token, 1 token per CJK character."""
    cjk = len(_CJK.findall(text))
    return cjk + (len(text) - cjk + 3) // 4


def cut(text: str, tokens: int) -> str:
    """The start of `text` within about `tokens` tokens."""
    if estimate_tokens(text) <= tokens:
        return text
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if estimate_tokens(text[:mid]) <= tokens:
            low = mid
        else:
            high = mid - 1
    return text[:low] + "…"


def sample(texts: Sequence[str], budget: int, limit: int = MAX_EXAMPLES) -> list[str]:
    """At most `limit` texts picked evenly across the corpus, redacted, within `budget` tokens."""
    if not texts or budget <= 0:
        return []
    step = max(1, len(texts) // limit)
    picked = list(texts[::step])[:limit]
    each = max(16, budget // len(picked))
    out: list[str] = []
    used = 0
    for text in picked:
        piece = cut(redact(text), each)
        cost = estimate_tokens(piece)
        if used + cost > budget:
            break
        out.append(piece)
        used += cost
    return out


def build_prompt(instructions: str, context: str, examples: Sequence[str]) -> str:
    """The user message: instructions and context first, then sampled examples, all bounded."""
    head_budget = TOKEN_BUDGET // 2 if examples else TOKEN_BUDGET
    head = cut(redact(instructions) + "\n\n" + redact(context), head_budget)
    body = sample(examples, TOKEN_BUDGET - estimate_tokens(head))
    parts = [head]
    if body:
        parts.append("Examples (excerpts, personal data removed):")
        parts.extend(f"---\n{text}" for text in body)
    return "\n".join(parts)


def _refused(exc: openai.APIStatusError) -> bool:
    """The server refused the request's form: a 400/422, or (llama-cpp-python's server)
    a 500 whose message names the response format."""
    return exc.status_code in (400, 422) or "response_format" in str(exc.message)


class ModelClient:
    """An async OpenAI-compatible chat client configured from settings."""

    def __init__(self, settings: Settings) -> None:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
        self.model = settings.openai_model
        self.max_tokens = settings.openai_max_tokens
        # seconds one structured run may take, leaving the command time to answer offline
        self.budget = max(1.0, settings.handler_timeout * 0.8 - 1)
        self._format = "json_schema"  # or "json_object" once a server refused json_schema
        self.enabled = bool(key or settings.openai_base_url)
        self._client = (
            AsyncOpenAI(
                api_key=key or "not-needed",
                base_url=settings.openai_base_url or None,
                timeout=settings.openai_timeout,
                max_retries=0,
            )
            if self.enabled
            else None
        )

    async def _create(
        self, system: str, user: str, *, refusable: bool = False, **extra: Any
    ) -> Any | None:
        """One chat completion, or None when the provider is unavailable or failed.

        With `refusable`, a refusal of the request's form (see `_refused`) is raised.
        """
        if self._client is None:
            return None
        try:
            return await self._client.chat.completions.create(
                model=self.model,
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                ],
                max_tokens=min(self.max_tokens, MAX_OUTPUT_TOKENS),
                temperature=0.2,
                **extra,
            )
        except (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError) as exc:
            log.warning("model.unavailable", error=type(exc).__name__)
        except openai.APIStatusError as exc:
            if refusable and _refused(exc):
                raise
            log.warning("model.failed", status=exc.status_code)
        return None

    async def complete(self, system: str, user: str) -> str | None:
        """The model's answer, or None when it is unavailable (the caller stays offline)."""
        response = await self._create(system, user)
        content = response.choices[0].message.content if response and response.choices else None
        return content.strip() if content and content.strip() else None

    async def complete_json(
        self, system: str, user: str, json_schema: dict, name: str = "answer"
    ) -> JsonAnswer | None:
        """The model's answer constrained to `json_schema`; None when it is unavailable.

        Sends OpenAI's `json_schema` response format; a server that refuses it is asked
        again, and from then on, with llama.cpp's `json_object` + `schema` form (all that
        llama-cpp-python's server accepts; llama.cpp's own server takes both). A cut
        off (finish_reason "length") or unparsable answer comes back with its problem.
        """
        formats = {
            "json_schema": {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": json_schema, "strict": True},
            },
            "json_object": {"type": "json_object", "schema": bounded(json_schema)},
        }
        tries = ["json_schema", "json_object"] if self._format == "json_schema" else [self._format]
        for form in tries:
            try:
                response = await self._create(
                    system, user, refusable=form != tries[-1], response_format=formats[form]
                )
            except openai.APIStatusError:
                self._format = "json_object"
                continue
            return None if response is None else parse_json_answer(response)
        return None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()


SYSTEM = (
    "You help a team with its recurring work. Write only about tasks, never about people: no "
    "persona, no imitation of anyone's voice, no judgement of anyone. Use only the material "
    "given; never invent work, names or facts. Keep placeholders like [email] as they are."
)


async def distill_body(
    client: ModelClient, skill_name: str, summary: Sequence[str], examples: Sequence[str]
) -> str | None:
    """A SKILL.md body (Markdown instructions) from the mined template and a few examples."""
    prompt = build_prompt(
        f"Write the Markdown body of an Agent Skills SKILL.md for the skill '{skill_name}': "
        "step-by-step instructions an assistant follows to do this task the way this team "
        "does it. Do not include YAML front matter.",
        "What was learned:\n" + "\n".join(summary),
        examples,
    )
    return await client.complete(SYSTEM, prompt)


SYSTEM_JSON = (
    SYSTEM + " Answer with one JSON object of the given schema and nothing else. Copy work, "
    "names and dates only from the material; where the material names no owner or date, "
    "use null."
)


@dataclass(frozen=True, slots=True)
class JsonAnswer:
    """A parsed JSON answer, or the reason it is none (cut off, not JSON)."""

    data: Any = None
    problem: str = ""


def parse_json_answer(response: Any) -> JsonAnswer:
    choice = response.choices[0] if response.choices else None
    if choice is None:
        return JsonAnswer(problem="the answer was empty")
    if choice.finish_reason == "length":
        return JsonAnswer(problem="the answer was cut off at the length limit: answer shorter")
    text = _FENCE.sub("", (choice.message.content or "").strip())
    try:
        return JsonAnswer(data=json.loads(text))
    except ValueError:
        return JsonAnswer(problem="the answer was not valid JSON")


async def structured(client: ModelClient, kind: str, prompt: str, source: Source) -> dict | None:
    """The model's validated answer for this kind, or None (see `structured_outcome`)."""
    data, _ = await structured_outcome(client, kind, prompt, source)
    return data


async def structured_outcome(
    client: ModelClient, kind: str, prompt: str, source: Source
) -> tuple[dict | None, str]:
    """(answer, "") when valid; else (None, "unavailable" | "invalid").

    An invalid answer is asked for once more, with its problems listed; then the caller keeps
    the offline result. Both tries together stay within `client.budget` seconds, so the
    command answers before its handler timeout. `prompt` is already redacted and bounded.
    """
    json_schema = schema(kind, source)
    user = prompt
    deadline = time.monotonic() + client.budget
    for attempt in (1, 2):
        left = deadline - time.monotonic()
        try:
            async with asyncio.timeout(left if left > 1 else 0):
                answer = await client.complete_json(SYSTEM_JSON, user, json_schema, kind)
        except TimeoutError:
            log.warning("model.over_budget", kind=kind, attempt=attempt)
            answer = None
        if answer is None:
            return None, "unavailable" if attempt == 1 else "invalid"
        problems = [answer.problem] if answer.problem else validate(kind, answer.data, source)
        if not problems:
            return answer.data, ""
        log.info("model.invalid", kind=kind, attempt=attempt, problems=len(problems))
        listed = cut(redact("\n".join(f"- {p}" for p in problems[:8])), 200)
        user = (
            f"{prompt}\n\nYour previous answer was rejected:\n{listed}\n"
            "Answer again with one JSON object that fixes these problems."
        )
    return None, "invalid"
