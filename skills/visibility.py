"""What of an artifact may be shown: only what people whose grant is in force taught."""

from __future__ import annotations

from skills.code_review import quote, visible_rules
from skills.template import visible_sections


def authors(template: dict) -> set[str]:
    """Everyone whose words the template carries."""
    found: set[str] = set(template.get("title_authors", []))
    for group in ("sections", "rules", "types"):
        for item in template.get(group, []):
            found.update(item.get("authors", []))
    return found


def visible_template(template: dict, live: set[str]) -> dict:
    """A copy holding only the parts, words and quotes of people in `live`."""
    view = dict(template)
    if "sections" in template:
        view["sections"] = visible_sections(template, live)
    if "rules" in template:
        view["rules"] = [
            {
                **r,
                "text": quote(r, live),
                "quotes": [q for q in r.get("quotes", []) if q["author"] in live],
                "authors": [a for a in r.get("authors", []) if a in live],
            }
            for r in visible_rules(template, live)
        ]
    if "types" in template:
        view["types"] = [t for t in template["types"] if set(t.get("authors", [])) & live]
    if "title" in template and not set(template.get("title_authors", [])) & live:
        view["title"] = ""
    return view
