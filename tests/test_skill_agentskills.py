"""Agent Skills folders: valid frontmatter, export → import round trip, foreign skills, CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import Application
from bot.settings import Settings
from skills.agentskills import import_folder, validate
from skills.frontmatter import split
from skills.sealed import opened
from skills.store import find_skill, latest
from tests.conftest import ConsoleClient, make_settings
from tests.test_skill_support import dm_text

FOREIGN_SKILL_MD = """---
name: release-notes
description: >-
  Writes release notes from merged pull requests.
  Use when a release is cut.
license: MIT
metadata:
  author: someone-else
  version: '2.1'
---
# Release notes

Group the changes under the headings in assets/template.md.
"""
FOREIGN_TEMPLATE = "Release {date}\n## Features\n- …\n## Fixes\n- …\n## Breaking changes\n- …\n"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path / "data", demo=True)


TEAM = "team"  # the demo's observed channel: its skills belong to that team


async def _export(app: Application, name: str, root: Path) -> Path:
    tenant = await app.services.directory.tenant("console", "local")
    return await app.services.skills.engine.export(tenant, name, root, team=TEAM)


@pytest.mark.parametrize("name", ["weekly-report", "code-review", "meeting-memo"])
async def test_exported_folder_follows_the_agent_skills_rules(
    app: Application, console: ConsoleClient, tmp_path: Path, name: str
) -> None:
    folder = await _export(app, name, tmp_path / "out")
    fields, body = split((folder / "SKILL.md").read_text())
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", fields["name"]) and len(fields["name"]) <= 64
    assert fields["name"] == folder.name == name
    assert 0 < len(fields["description"]) < 1024
    metadata = fields["metadata"]
    assert metadata["version"] == "1" and "dave" in metadata["contributors"]
    assert json.loads(metadata["provenance"])["inputs"]
    assert body.startswith(f"# {name}")
    assert validate(folder) == []


async def test_templates_go_to_assets_and_rules_to_references(
    app: Application, console: ConsoleClient, tmp_path: Path
) -> None:
    report = await _export(app, "weekly-report", tmp_path)
    review = await _export(app, "code-review", tmp_path)
    assert "*Blockers*" in (report / "assets" / "template.md").read_text()
    assert "use Decimal for money" in (review / "references" / "rules.md").read_text()


async def test_export_then_import_round_trips_the_skill_unchanged(
    app: Application, console: ConsoleClient, tmp_path: Path
) -> None:
    folder = await _export(app, "code-review", tmp_path)
    tenant = await app.services.directory.tenant("console", "local")
    skill = await find_skill(tenant, "code-review", TEAM)
    before = await latest(skill)
    await app.services.skills.engine.import_folder(tenant, folder, "admin", team=TEAM)
    after = await latest(skill)
    assert after.number == before.number + 1
    vault = app.services.vault  # stored sealed (fresh nonces): compare what they hold
    assert await opened(after, vault) == await opened(before, vault)
    assert after.provenance == before.provenance


def test_a_folder_made_by_another_tool_imports(tmp_path: Path) -> None:
    folder = tmp_path / "release-notes"
    (folder / "assets").mkdir(parents=True)
    (folder / "SKILL.md").write_text(FOREIGN_SKILL_MD)
    (folder / "assets" / "template.md").write_text(FOREIGN_TEMPLATE)
    found = import_folder(folder)
    assert found.foreign and found.description.startswith("Writes release notes")
    headings = [s["heading"] for s in found.artifact["template"]["sections"]]
    assert headings == ["Features", "Fixes", "Breaking changes"]


def test_a_folder_whose_name_does_not_match_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "other-name"
    folder.mkdir()
    (folder / "SKILL.md").write_text(FOREIGN_SKILL_MD)
    with pytest.raises(ValueError, match="must match the folder name"):
        import_folder(folder)


def test_names_that_break_the_rules_are_reported(tmp_path: Path) -> None:
    for bad in ("Weekly", "-x", "a--b", "a" * 65):
        folder = tmp_path / bad
        folder.mkdir()
        (folder / "SKILL.md").write_text(f'---\nname: "{bad}"\ndescription: "d"\n---\n')
        assert validate(folder), bad


async def test_imported_foreign_skill_runs_in_chat(
    app: Application, console: ConsoleClient, tmp_path: Path
) -> None:
    folder = tmp_path / "release-notes"
    (folder / "assets").mkdir(parents=True)
    (folder / "SKILL.md").write_text(FOREIGN_SKILL_MD)
    (folder / "assets" / "template.md").write_text(FOREIGN_TEMPLATE)
    tenant = await app.services.directory.tenant("console", "local")
    await app.services.skills.engine.import_folder(tenant, folder, "admin")
    text = await dm_text(
        console,
        "alice",
        "/skill release-notes\n- Fixed the crash on login\n- Added dark mode to the settings page",
    )
    assert text.index("## Features") < text.index("## Fixes")
    assert "Fixed the crash on login" in text


async def test_cli_run_prints_what_the_chat_command_answers(
    app: Application, console: ConsoleClient, tmp_path: Path
) -> None:
    chat = await dm_text(console, "alice", "/skill weekly-report")
    env = {
        **os.environ,
        "APPRENTICE_DATA_DIR": str(app.settings.data_dir),
        "APPRENTICE_LOG_LEVEL": "WARNING",
        "COLUMNS": "200",
    }
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "apprentice"),
            "skills",
            "run",
            "weekly-report",
            "--as",
            "console:alice",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == chat.strip()


async def test_export_leaves_out_a_contributor_who_withdrew(
    app: Application, console: ConsoleClient, tmp_path: Path
) -> None:
    await console.say("bob", "team", "/skill optout")
    folder = await _export(app, "code-review", tmp_path)
    exported = "\n".join(p.read_text() for p in folder.rglob("*") if p.is_file())
    assert "Decimal" not in exported and "bob" not in exported
    assert "no print() in production code" in exported  # dave's rule stays
