"""`apprentice privacy-report`: the configuration and the database as a works council reads
them — the exact notices with their hashes and counts, never a name, an id or a message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import Application
from bot.consent.notices import Purpose, Terms, notice_with
from bot.privacy_report import _where, render
from bot.settings import Settings
from tests.conftest import ConsoleClient, make_settings
from tests.test_skill_support import dm_text

PEOPLE = ("alice", "bob", "carol", "dave")  # the demo's people


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path / "data", demo=True)


async def test_the_report_holds_the_notices_and_counts_but_no_person(
    app: Application, console: ConsoleClient
) -> None:
    await dm_text(console, "dave", "/skill forget")
    report = await render(app.settings)
    shown = notice_with(Purpose.OBSERVE, "zh", Terms.of(app.settings))
    assert shown.sha256 in report and shown.text in report
    assert f"{app.settings.retention_days} days" in report
    assert "- observed channels: 1" in report
    assert "- people who agreed at least once: 3" in report  # alice, bob, dave of the demo
    assert "- erasures carried out: 1" in report
    for person in PEOPLE:
        assert person not in report.lower()
    for word in ("invoice", "Decimal", "espresso"):  # words of the demo's messages
        assert word not in report


def test_the_cli_writes_it_to_a_file_naming_the_model_provider(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "APPRENTICE_DATA_DIR": str(tmp_path / "data"),
        "APPRENTICE_DEMO": "0",
        "OPENAI_BASE_URL": "http://models.internal:8000/v1",
    }
    out = tmp_path / "report.md"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "apprentice"), "privacy-report", "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    text = out.read_text("utf-8")
    assert "model provider: http://models.internal:8000/v1" in text
    assert "- people asked: 0" in text


def test_where_data_lives_names_the_host_but_never_the_credentials(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url="postgres://app:s3cret@db.internal:5432/x")
    where = _where(settings)
    assert where == "postgres database on db.internal:5432"
