"""Validation of model answers against their source, and their rendering (no model needed)."""

from __future__ import annotations

from skills.structured import Source, bounded, overlaps, render, schema, validate

WEEK = Source(
    kind="weekly-report",
    messages=("Shipped the invoice CSV export to production", "Pairing with bob on tax rounding"),
    labels=("#team Mon 01 Dec 09:00", "#team Tue 02 Dec 10:00"),
    headings=("Done", "Next week"),
    week="2026-W49",
)
CODE = Source(
    kind="code-review",
    rules={"r2": "no print() in production code, use the logger."},
    code=("def settle(order):", "    print(order)"),
)
NOTES = Source(
    kind="meeting-memo",
    notes="计划会议\n决定：先发布计费 v2 接口\n行动：小王 周五前起草迁移方案\n"
    "问题：谁来审批定价页面？",
)


def weekly(*items: dict, title: str = "Weekly report 2026-W49") -> dict:
    return {
        "title": title,
        "sections": [
            {"heading": "Done", "items": list(items)},
            {"heading": "Next week", "items": []},
        ],
    }


def test_a_weekly_item_must_cite_a_real_message_and_share_its_words() -> None:
    good = {"text": "Shipped the invoice CSV export", "sources": [1]}
    assert validate("weekly-report", weekly(good), WEEK) == []
    assert validate("weekly-report", weekly({**good, "sources": [3]}), WEEK)
    assert validate("weekly-report", weekly({**good, "sources": []}), WEEK)
    invented = {"text": "Launched the mobile app in Japan", "sources": [1]}
    assert any(
        "not in the messages" in p for p in validate("weekly-report", weekly(invented), WEEK)
    )


def test_weekly_headings_order_and_week_are_checked() -> None:
    good = {"text": "Shipped the invoice CSV export", "sources": [1]}
    swapped = weekly(good)
    swapped["sections"].reverse()
    assert any("headings" in p for p in validate("weekly-report", swapped, WEEK))
    assert any("week" in p for p in validate("weekly-report", weekly(good, title="Report"), WEEK))
    assert validate("weekly-report", weekly(), WEEK) == ["the report lists no work at all"]


def test_weekly_render_renumbers_sources_and_names_them() -> None:
    item = {"text": "Tax rounding with bob", "sources": [2]}
    text = render("weekly-report", weekly(item), WEEK)
    assert "*Done*\n- Tax rounding with bob [1]\n*Next week*\n- (none)" in text
    assert text.endswith("Sources: [1] #team Tue 02 Dec 10:00")


def test_a_finding_must_quote_its_line_under_a_known_rule() -> None:
    good = {"findings": [{"rule": "r2", "line": 2, "code": "print(order)"}]}
    assert validate("code-review", good, CODE) == []
    for bad in (
        {"rule": "r9", "line": 2, "code": "print(order)"},
        {"rule": "r2", "line": 1, "code": "print(order)"},
        {"rule": "r2", "line": 7, "code": "print(order)"},
        {"rule": "r2", "line": True, "code": "print(order)"},
    ):
        assert validate("code-review", {"findings": [bad]}, CODE)
    assert "line 2: `print(order)`" in render("code-review", good, CODE)
    nothing = render("code-review", {"findings": []}, CODE)
    assert nothing.startswith("No finding: I checked the snippet against 1 team rule(s)")


def test_chinese_memo_entries_must_share_bigrams_and_owners_must_be_in_the_notes() -> None:
    memo = {
        "type": None,
        "decisions": ["先发布计费 v2 接口"],
        "actions": [{"owner": "小王", "task": "起草迁移方案", "due": "周五"}],
        "unaddressed": ["谁来审批定价页面？"],
    }
    assert validate("meeting-memo", memo, NOTES) == []
    invented = {**memo, "actions": [{"owner": "老李", "task": "起草迁移方案", "due": None}]}
    assert any("owner" in p for p in validate("meeting-memo", invented, NOTES))
    assert validate("meeting-memo", {**memo, "decisions": ["取消所有的项目"]}, NOTES)
    assert overlaps("起草迁移方案", NOTES.notes) and not overlaps("年终奖金", NOTES.notes)
    assert not overlaps("billing", "Decision: ship the billing v2 API first")  # says nothing


def test_a_memo_with_nothing_open_says_what_it_looked_for() -> None:
    memo = {"type": "planning", "decisions": [], "actions": [], "unaddressed": []}
    text = render("meeting-memo", memo, NOTES)
    assert text.startswith("*Planning memo*")
    assert "none found (I looked for unanswered questions" in text
    assert "every question was answered" not in text


def test_schemas_are_strict_and_pin_ids_to_the_source() -> None:
    weekly_schema = schema("weekly-report", WEEK)
    assert weekly_schema["additionalProperties"] is False
    section = weekly_schema["properties"]["sections"]["items"]
    assert section["properties"]["heading"]["enum"] == ["Done", "Next week"]
    assert section["properties"]["items"]["items"]["properties"]["sources"]["items"]["enum"] == [
        1,
        2,
    ]
    assert schema("code-review", CODE)["properties"]["findings"]["items"]["properties"]["rule"][
        "enum"
    ] == ["r2"]
    memo = schema("meeting-memo")
    assert memo["required"] == ["type", "decisions", "actions", "unaddressed"]


def test_the_local_server_schema_caps_every_list() -> None:
    capped = bounded(schema("weekly-report", WEEK))
    section = capped["properties"]["sections"]
    assert section["maxItems"] == 8
    assert (
        section["items"]["properties"]["items"]["items"]["properties"]["sources"]["maxItems"] == 3
    )
    assert "maxItems" not in str(schema("weekly-report", WEEK))
