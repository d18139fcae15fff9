"""The offline SKILL.md body: instructions written from the learned template, no model needed."""

from __future__ import annotations


def offline_body(name: str, kind: str, template: dict, description: str) -> str:
    lines = [f"# {name}", "", description, ""]
    if template.get("sections"):
        title = template.get("title") or "(no fixed title)"
        lines += [
            "## Template",
            "",
            f"Title line: `{title}` (`{{week}}` is the ISO week, e.g. 2026-W48).",
            "Write these sections, in this order, each as a heading followed by bullets "
            f"starting with `{template.get('bullet', '-')}`:",
            "",
        ]
        for s in template["sections"]:
            words = ", ".join(list(s.get("keywords", {}))[:8])
            lines.append(
                f"1. **{s['heading']}** — usually {s.get('usual_items', 1)} item(s) of about "
                f"{s.get('usual_words', 5)} words; items about: {words or 'anything that fits'}."
            )
        lines += [
            "",
            "## How to fill it",
            "",
            "- Use only the requester's own messages of the requested week.",
            "- One bullet per piece of work; cite the source messages of each bullet.",
            "- If there is too little material, say so instead of inventing.",
            "",
            "The template is in [assets/template.md](assets/template.md).",
        ]
    if template.get("rules"):
        lines += [
            "## Rules",
            "",
            "Check the code against each rule in "
            "[references/rules.md](references/rules.md); for each broken rule quote the "
            "line and the rule's wording.",
            "",
        ]
        lines += [f"- {r['text']}" for r in template["rules"]]
    if template.get("types"):
        lines += ["## Meeting types", ""]
        for t in template["types"]:
            lines.append(f"- **{t['name']}**: {', '.join(t['fields']) or 'free form'}")
        lines += [
            "",
            "## How to write the memo",
            "",
            "- Pick the meeting type from the first line or the fields used.",
            "- List decisions, and action items with owner and date.",
            "- List unaddressed issues: questions nobody answered, actions with no owner, "
            "decisions reopened without resolution.",
        ]
    if template.get("instructions"):
        lines += ["## Instructions", "", template["instructions"]]
    return "\n".join(lines).strip() + "\n"
