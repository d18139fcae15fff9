"""The offline learners and executors as pure functions (no database, no bus)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from skills.frontmatter import dump, split
from skills.material import Material
from skills.template import mine

REPORT = "Status {week}\n*Done*\n- {a}\n*Doing*\n- {b}\n*Blocked*\n- {c}"


def weekly_posts(weeks: int, per_week_per_author: int = 1) -> list[Material]:
    start = datetime(2026, 10, 5, 16, tzinfo=UTC)
    found = []
    for w in range(weeks):
        for author in ("ann", "ben"):
            for k in range(per_week_per_author):
                text = REPORT.format(
                    week=f"2026-W{41 + w}",
                    a=f"shipped thing {w}",
                    b="building the importer",
                    c="waiting on access",
                )
                found.append(
                    Material(f"{author}{w}{k}", author, text, start + timedelta(weeks=w, hours=k))
                )
    return found


def test_template_keeps_the_teams_headings_in_order() -> None:
    template, provenance = mine(weekly_posts(3), weekly=True)
    assert [s["heading"] for s in template["sections"]] == ["Done", "Doing", "Blocked"]
    assert template["title"] == "Status {week}" and template["heading_style"] == "*{h}*"
    assert len(provenance["inputs"]) == 6


def test_posts_from_a_single_week_are_no_weekly_cadence() -> None:
    assert mine(weekly_posts(1), weekly=True) is None


def test_frontmatter_round_trips_and_reads_block_scalars() -> None:
    text = (
        dump({"name": "x-y", "description": 'says "hi"\nand more', "metadata": {"version": "3"}})
        + "# body\n"
    )
    fields, body = split(text)
    assert fields == {
        "name": "x-y",
        "description": 'says "hi"\nand more',
        "metadata": {"version": "3"},
    }
    assert body == "# body\n"
    folded, _ = split("---\nname: a\ndescription: >-\n  one\n  two\n---\n")
    assert folded["description"] == "one two"


def test_a_label_saying_there_is_nothing_of_its_kind_gives_no_item() -> None:
    from skills.report_items import Router, extract

    sections = [
        {"heading": "Done", "state": "done"},
        {"heading": "Blockers", "state": "blocked"},
        {"heading": "Next week", "state": "next"},
    ]
    at = datetime(2026, 11, 30, 9, tzinfo=UTC)
    earlier = (
        "*Done*\n- shipped the billing export\n*Blockers*\n- waiting on legal\n*Next week*\n- docs"
    )
    router = Router.learn(sections, [Material("r1", "ben", earlier, at - timedelta(weeks=1))])
    said = [
        Material("m1", "ann", "Shipped the invoice CSV export.\nBlockers: none.", at),
        Material("m2", "ann", "风险：无", at + timedelta(hours=1)),
    ]
    items = [i.text for i in extract(said, "ann", router)]
    assert items == ["Shipped the invoice CSV export"]
