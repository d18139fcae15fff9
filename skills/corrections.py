"""`/skill correct NAME …`: small edits people make in chat, replayed on every relearn.

rename "In progress" to "Doing"        remove "Next week"
move "Blockers" before "Done"           add section "Risks" [after "Blockers"]
add rule "no bare except, catch what you expect" [avoid "except:"]
remove rule r2                          description Drafts the team's weekly report
"""

from __future__ import annotations

import copy
import re

from skills.template import key as heading_key

_Q = r"[\"“”']?(?P<{0}>[^\"“”']+?)[\"“”']?"
_RENAME = re.compile(
    r"^rename (?:section )?" + _Q.format("old") + r" to " + _Q.format("new") + "$", re.I
)
_REMOVE_RULE = re.compile(r"^(?:remove|drop) rule (?P<id>r\d+)$", re.I)
_REMOVE = re.compile(r"^(?:remove|drop) (?:section )?" + _Q.format("name") + "$", re.I)
_MOVE = re.compile(
    r"^move (?:section )?"
    + _Q.format("name")
    + r" (?P<where>before|after) "
    + _Q.format("other")
    + "$",
    re.I,
)
_ADD_SECTION = re.compile(
    r"^add section "
    + _Q.format("name")
    + r"(?: (?P<where>before|after) "
    + _Q.format("other")
    + ")?$",
    re.I,
)
_ADD_RULE = re.compile(
    r"^add rule [\"“](?P<text>[^\"”]+)[\"”](?: avoid [\"“]?(?P<avoid>[^\"”]+?)[\"”]?)?$", re.I
)
_DESCRIPTION = re.compile(r"^description (?P<text>.{3,1000})$", re.I | re.S)

HELP = (
    'I understand: `rename "Old" to "New"`, `remove "Section"`, '
    '`move "A" before "B"`, `add section "Risks" after "Blockers"`, '
    '`add rule "the team\'s wording" avoid "pattern"`, `remove rule r2`, '
    "`description …`."
)


class CorrectionError(ValueError):
    """The correction could not be applied; the message says why."""


def _find(sections: list[dict], name: str) -> int:
    key = heading_key(name)
    for index, s in enumerate(sections):
        if heading_key(s["heading"]) == key:
            return index
    raise CorrectionError(f"There is no section “{name}”.")


def apply(artifact: dict, text: str, by: str) -> dict:
    """A new artifact with one correction applied; raises CorrectionError."""
    new = copy.deepcopy(artifact)
    template = new.setdefault("template", {})
    sections: list[dict] = template.get("sections", [])
    text = text.strip()
    if m := _RENAME.match(text):
        section = sections[_find(sections, m["old"])]
        section["heading"] = m["new"].strip()
        section["authors"] = sorted({*section.get("authors", []), by})
    elif m := _REMOVE_RULE.match(text):
        rules = template.get("rules", [])
        if not any(r["id"] == m["id"].lower() for r in rules):
            raise CorrectionError(f"There is no rule {m['id']}.")
        template["rules"] = [r for r in rules if r["id"] != m["id"].lower()]
    elif m := _MOVE.match(text):
        moving = sections.pop(_find(sections, m["name"]))
        target = _find(sections, m["other"])
        sections.insert(target if m["where"].lower() == "before" else target + 1, moving)
    elif m := _ADD_SECTION.match(text):
        section = {
            "heading": m["name"].strip(),
            "class": None,
            "usual_items": 1,
            "usual_words": 5,
            "keywords": {},
            "authors": [by],
        }
        if m["other"]:
            target = _find(sections, m["other"])
            sections.insert(target if m["where"].lower() == "before" else target + 1, section)
        else:
            sections.append(section)
        template["sections"] = sections
    elif m := _REMOVE.match(text):
        sections.pop(_find(sections, m["name"]))
    elif m := _ADD_RULE.match(text):
        rules = template.setdefault("rules", [])
        avoid = (m["avoid"] or "").strip()
        rules.append(
            {
                "id": f"r{max([int(r['id'][1:]) for r in rules] or [0]) + 1}",
                "text": m["text"].strip(),
                "quotes": [{"author": by, "text": m["text"].strip(), "source": "correction"}],
                "avoid": avoid,
                "prefer": "",
                "patterns": [{"regex": re.escape(avoid), "what": avoid}] if avoid else [],
                "comments": 1,
                "authors": [by],
            }
        )
    elif m := _DESCRIPTION.match(text):
        new["description"] = m["text"].strip()[:1000]
    else:
        raise CorrectionError("I didn't understand that correction. " + HELP)
    new.setdefault("corrections", []).append({"by": by, "text": text})
    return new


def replay(artifact: dict, corrections: list[dict]) -> dict:
    """Apply earlier corrections to a freshly learned artifact; ones that no longer fit are kept
    on record but skipped."""
    for correction in corrections:
        try:
            artifact = apply(artifact, correction["text"], correction["by"])
        except CorrectionError:
            artifact.setdefault("corrections", []).append({**correction, "skipped": True})
    return artifact
