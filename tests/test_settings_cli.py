"""Settings from the environment and apprentice.toml; the CLI an operator uses."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.settings import Settings

runner = CliRunner()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APPRENTICE_DATA_DIR", str(tmp_path / "data"))
    for name in ("DATABASE_URL", "APPRENTICE_CONFIG", "SLACK_BOT_TOKEN", "APPRENTICE_ADMINS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_environment_names_are_the_platforms_usual_ones(env: pytest.MonkeyPatch) -> None:
    env.setenv("APPRENTICE_WEB_PORT", "9999")
    env.setenv("APPRENTICE_ADMINS", "slack:U1, lark:ou_2")
    env.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    env.setenv("SLACK_SIGNING_SECRET", "s")
    settings = Settings()
    assert settings.web_port == 9999
    assert settings.admins == ["slack:U1", "lark:ou_2"]
    assert settings.enabled_adapters() == ["console", "slack"]


def test_toml_file_is_read_and_environment_wins(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "apprentice.toml").write_text('web_port = 7000\nlocale = "zh"\n')
    env.setenv("APPRENTICE_LOCALE", "en")
    settings = Settings()
    assert settings.web_port == 7000 and settings.locale == "en"


def test_postgresql_url_is_accepted_in_either_spelling(env: pytest.MonkeyPatch) -> None:
    env.setenv("DATABASE_URL", "postgresql://u:p@db:5432/app")
    assert Settings().db_url == "postgres://u:p@db:5432/app"


def test_admin_without_platform_is_a_clear_error(env: pytest.MonkeyPatch) -> None:
    env.setenv("APPRENTICE_ADMINS", "alice")
    result = runner.invoke(cli, ["doctor"])
    assert result.exit_code == 2 and "platform:workspace:user_id" in result.output


def test_doctor_masks_secrets_and_reports_the_database(env: pytest.MonkeyPatch) -> None:
    env.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret-token")
    env.setenv("SLACK_SIGNING_SECRET", "signing-secret-value")
    result = runner.invoke(cli, ["doctor"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "xoxb-very-secret-token" not in result.output
    assert "signing-secret-value" not in result.output
    assert "****** (set)" in result.output
    assert "console, slack" in result.output and "reachable" in result.output


def test_doctor_masks_the_database_password(env: pytest.MonkeyPatch) -> None:
    env.setenv("DATABASE_URL", "postgres://u:hunter2@127.0.0.1:1/none")
    result = runner.invoke(cli, ["doctor"], env={"COLUMNS": "200"})
    assert "hunter2" not in result.output
    assert result.exit_code == 1 and "not reachable" in result.output


def test_db_upgrade_then_audit_verify(env: pytest.MonkeyPatch) -> None:
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0 and "intact" in result.output


def test_console_is_not_exposed_beyond_loopback_unless_asked(env: pytest.MonkeyPatch) -> None:
    assert "console" in Settings().enabled_adapters()
    env.setenv("APPRENTICE_WEB_HOST", "0.0.0.0")
    assert "console" not in Settings().enabled_adapters()
    assert not Settings().demo_enabled
    env.setenv("APPRENTICE_CONSOLE", "true")
    assert "console" in Settings().enabled_adapters()
