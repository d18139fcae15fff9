"""The LLM engine: any OpenAI-compatible endpoint, used only with the "model" consent.

Every text sent is redacted again and the whole prompt is bounded by a fixed token budget,
whatever the corpus size: examples are sampled evenly and cut, never sent in full. Timeouts,
429s, 5xx and connection failures return None, and callers keep the offline result.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import openai
import structlog
from openai import AsyncOpenAI

from bot.redact import redact
from bot.settings import Settings

log = structlog.get_logger(__name__)

TOKEN_BUDGET = 2000  # input tokens per call
MAX_OUTPUT_TOKENS = 800
MAX_EXAMPLES = 12
_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")

FALLBACK_NOTE = (
    "(The model provider did not answer in time, so this is the offline draft. "
    "Try again later for the model's version.)"
)


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


class ModelClient:
    """An async OpenAI-compatible chat client configured from settings."""

    def __init__(self, settings: Settings) -> None:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
        self.model = settings.openai_model
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

    async def complete(self, system: str, user: str) -> str | None:
        """The model's answer, or None when it is unavailable (the caller stays offline)."""
        if self._client is None:
            return None
        try:
            response = await self._client.chat.completions.create(
                model=self.model,
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                ],
                max_tokens=MAX_OUTPUT_TOKENS,
                temperature=0.2,
            )
        except (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError) as exc:
            log.warning("model.unavailable", error=type(exc).__name__)
            return None
        except openai.APIStatusError as exc:
            log.warning("model.failed", status=exc.status_code)
            return None
        content = response.choices[0].message.content if response.choices else None
        return content.strip() if content and content.strip() else None

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


async def write_report(client: ModelClient, instructions: str, draft: str) -> str | None:
    """The report written from the filled template (same sections, same facts, same order)."""
    prompt = build_prompt(
        "Rewrite this draft into a clear report. Keep every section heading, its order and "
        "the bullet style; keep each [n] source marker on the bullet it belongs to; add no "
        "facts that are not in the draft.",
        (instructions + "\n\nDraft:\n" + draft) if instructions else "Draft:\n" + draft,
        (),
    )
    return await client.complete(SYSTEM, prompt)
