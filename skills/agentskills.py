"""Agent Skills folders: `NAME/SKILL.md` (+ `assets/`, `references/`), written and read.

The whole artifact also goes to `assets/apprentice-skill.json`, so a skill exported here and
imported elsewhere is the same skill. Folders made by other tools import too: their
SKILL.md body becomes the instructions, and a template in `assets/` is mined like an example.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from skills.frontmatter import FrontmatterError, dump, split
from skills.template import example_template

NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_DESCRIPTION = 1024
ARTIFACT_FILE = "apprentice-skill.json"


def name_problems(name: str) -> list[str]:
    problems = []
    if not 1 <= len(name) <= 64:
        problems.append("name must be 1 to 64 characters")
    if not NAME.match(name):
        problems.append(
            "name may hold only lowercase letters, digits and single hyphens, "
            "not at the start or end"
        )
    return problems


def validate(folder: Path) -> list[str]:
    """What breaks the Agent Skills rules in this folder (empty when it is valid)."""
    skill_md = folder / "SKILL.md"
    if not skill_md.is_file():
        return [f"{folder.name}/SKILL.md is missing"]
    try:
        fields, _ = split(skill_md.read_text(encoding="utf-8"))
    except FrontmatterError as exc:
        return [str(exc)]
    problems = []
    name = fields.get("name")
    if not isinstance(name, str):
        problems.append("front matter has no name")
    else:
        problems += name_problems(name)
        if name != folder.name:
            problems.append(f"name {name!r} must match the folder name {folder.name!r}")
    description = fields.get("description")
    if not isinstance(description, str) or not description.strip():
        problems.append("front matter has no description")
    elif len(description) > MAX_DESCRIPTION:
        problems.append(f"description is {len(description)} characters; the limit is 1024")
    metadata = fields.get("metadata", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        problems.append("metadata must map names to strings")
    return problems


def render_template(template: dict) -> str:
    heading = template.get("heading_style", "*{h}*")
    lines = [template.get("title") or "{week}"]
    for s in template.get("sections", []):
        lines.append(heading.replace("{h}", s["heading"]))
        lines.append(f"{template.get('bullet', '-')} …")
    return "\n".join(lines) + "\n"


def export_folder(
    root: Path,
    artifact: dict,
    provenance: dict,
    version: int,
    status: str,
    contributors: list[str],
) -> Path:
    """Write `root/NAME/` and return it."""
    name = artifact["name"]
    if problems := name_problems(name):
        raise ValueError(f"can't export {name!r}: " + "; ".join(problems))
    folder = root / name
    (folder / "assets").mkdir(parents=True, exist_ok=True)
    description = (artifact.get("description") or f"The {name} skill.").strip()
    description = (
        description[: MAX_DESCRIPTION - 1] if len(description) >= MAX_DESCRIPTION else description
    )
    template = artifact.get("template", {})
    metadata = {
        "version": str(version),
        "status": status,
        "kind": artifact.get("kind", ""),
        "contributors": ", ".join(contributors),
        "provenance": json.dumps(provenance, separators=(",", ":"), sort_keys=True),
        "generator": "apprentice",
    }
    body = artifact.get("body") or f"# {name}\n\n{description}\n"
    (folder / "SKILL.md").write_text(
        dump({"name": name, "description": description, "metadata": metadata}) + "\n" + body,
        encoding="utf-8",
    )
    if template.get("sections"):
        (folder / "assets" / "template.md").write_text(render_template(template), "utf-8")
    if template.get("rules"):
        (folder / "references").mkdir(exist_ok=True)
        (folder / "references" / "rules.md").write_text(
            "# Rules\n\n"
            + "\n".join(
                f"- **{r['id']}**: {r['text']}"
                + (
                    f" (applies to: {', '.join(p['what'] for p in r['patterns'])})"
                    if r.get("patterns")
                    else ""
                )
                for r in template["rules"]
            )
            + "\n",
            "utf-8",
        )
    if template.get("types"):
        (folder / "references").mkdir(exist_ok=True)
        (folder / "references" / "meeting-types.md").write_text(
            "# Meeting types\n\n"
            + "\n".join(f"- **{t['name']}**: {', '.join(t['fields'])}" for t in template["types"])
            + "\n",
            "utf-8",
        )
    (folder / "assets" / ARTIFACT_FILE).write_text(
        json.dumps(
            {"artifact": artifact, "provenance": provenance, "version": version},
            ensure_ascii=False,
            indent=2,
            sort_keys=True,
        ),
        "utf-8",
    )
    return folder


@dataclass(slots=True)
class Imported:
    name: str
    description: str
    artifact: dict
    provenance: dict
    status: str
    foreign: bool


def import_folder(folder: Path) -> Imported:
    """Read an Agent Skills folder; raises ValueError saying what is wrong."""
    problems = validate(folder)
    if problems:
        raise ValueError(f"{folder} is not a valid Agent Skills folder: " + "; ".join(problems))
    fields, body = split((folder / "SKILL.md").read_text(encoding="utf-8"))
    name, description = str(fields["name"]), str(fields["description"])
    metadata = fields.get("metadata") or {}
    assert isinstance(metadata, dict)
    own = folder / "assets" / ARTIFACT_FILE
    if own.is_file():
        saved = json.loads(own.read_text("utf-8"))
        artifact = saved["artifact"]
        if artifact.get("name") == name:
            return Imported(
                name,
                description,
                artifact,
                saved.get("provenance", {}),
                str(metadata.get("status", "draft")),
                foreign=False,
            )
    template: dict = {}
    for path in sorted((folder / "assets").glob("*.md")) if (folder / "assets").is_dir() else []:
        found = example_template(path.read_text("utf-8"))
        if found is not None:
            template = found
            break
    artifact = {
        "format": 1,
        "name": name,
        "kind": "template",
        "description": description,
        "template": {**template, "instructions": body.strip()},
        "body": body,
        "body_source": "imported",
        "channels": [],
        "corrections": [],
    }
    return Imported(
        name, description, artifact, {"imported_from": "agent-skills"}, "draft", foreign=True
    )
