"""Structured logs: one event per line. Callers pass ids and counts, never message text."""

from __future__ import annotations

import logging
import sys
import traceback
from typing import TextIO, cast

import structlog


class _CurrentStderr:
    """Whatever sys.stderr is at the moment of writing (test runners swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(level: str = "INFO", fmt: str = "console") -> None:
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, _CurrentStderr())),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr)
    # tortoise logs SQL with its parameters at DEBUG: keep it quiet whatever the level.
    for noisy in ("tortoise", "aiosqlite", "asyncpg"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def where(exc: BaseException) -> str:
    """Where an exception came from (file:line function), without its message.

    Exception messages can quote data (a KeyError of a user's words), so logs get the
    type and the frames only.
    """
    frames = traceback.extract_tb(exc.__traceback__)[-6:]
    return " <- ".join(
        f"{frame.filename.rsplit('/', 2)[-1]}:{frame.lineno} {frame.name}"
        for frame in reversed(frames)
    )
