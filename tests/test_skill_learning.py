"""The learners on material shaped the way teams really write (English, Chinese, mixed).

Pure functions over `Material`: no database, no bus. These examples are the development set;
the figures that count come from bench/skill_corpus_teams, which no test reads.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from skills.code_review import CodeReview
from skills.kind import RunRequest
from skills.material import Material
from skills.meeting_memo import MeetingMemo
from skills.memo_parse import parse, unaddressed
from skills.template import mine
from skills.weekly_report import WeeklyReport

MONDAY = datetime(2027, 3, 1, 9, tzinfo=UTC)  # 2027-W09


def at(week: int, day: int = 4, hour: int = 16) -> datetime:
    return MONDAY + timedelta(weeks=week, days=day, hours=hour)


def material(i: int, author: str, text: str, when: datetime) -> Material:
    return Material(f"m{i}", author, text, when, "team")


ZH_REPORT = (
    "数据组周报 {date}{extra}\n【本周完成】\n- {done}\n【进行中】\n- {doing}\n"
    "【风险】\n- 无\n【下周计划】\n- {next}"
)


def zh_history() -> list[Material]:
    posts = []
    rows = [
        ("liu", "订单表回填 DP-11", "指标口径梳理", "调度迁移"),
        ("chen", "告警规则上线", "宽表拆分", "权限申请流程"),
        ("liu", "调度迁移完成", "数据质量校验", "宽表评审"),
        ("chen", "宽表拆分合并 DP-20", "血缘图", "告警降噪"),
    ]
    for n, (who, done, doing, nxt) in enumerate(rows):
        day = at(n // 2)
        text = ZH_REPORT.format(
            date=f"{day:%Y-%m-%d}",
            extra="（出差中）" if n == 1 else "",
            done=done,
            doing=doing,
            next=nxt,
        )
        posts.append(material(n, who, text, day))
    return posts


def test_chinese_template_keeps_headings_and_drops_one_off_title_words() -> None:
    template, _ = mine(zh_history(), weekly=True)
    assert [s["heading"] for s in template["sections"]] == [
        "本周完成",
        "进行中",
        "风险",
        "下周计划",
    ]
    assert template["heading_style"] == "【{h}】"
    assert template["title"] == "数据组周报 {date}"


def test_emoji_and_hash_headings_are_a_template() -> None:
    posts = []
    for n, who in enumerate(("kev", "li", "kev", "li")):
        text = (
            f"Mobile weekly 2027-W{10 + n // 2:02d}\n### ✅ Done\n- MOB-{n} login fix\n"
            f"### 🚧 WIP\n- push refactor\n### 📅 Next week\n- dark mode"
        )
        posts.append(material(n, who, text, at(n // 2)))
    template, _ = mine(posts, weekly=True)
    assert [s["heading"] for s in template["sections"]] == ["✅ Done", "🚧 WIP", "📅 Next week"]
    assert template["heading_style"] == "### {h}"
    assert template["title"] == "Mobile weekly {week}"


def run_report(history: list[Material], week: list[Material], requester: str) -> dict:
    kind = WeeklyReport()
    learned = kind.learn(history)
    assert learned is not None
    request = RunRequest(
        requester=requester,
        live={m.author for m in history} | {requester},
        now=at(4, 4, 18),
        materials=week,
        examples=history,
        period=(at(4, 0, -9), at(5, 0, -9)),
        period_label="2027-W13",
    )
    result = kind.run(learned.template, request)
    assert result.ok, result.text
    return {s["heading"]: [i["text"] for i in s["items"]] for s in result.data["sections"]}


def test_chinese_week_routes_by_labels_and_states_and_drops_chit_chat() -> None:
    week = [
        material(101, "liu", "周一快乐，冲！", at(4, 0)),
        material(102, "liu", "DP-31 的回填跑完了", at(4, 1)),
        material(103, "liu", "还卡在权限申请上，等运维", at(4, 2)),
        material(104, "liu", "下周：开始做指标口径统一", at(4, 3)),
        material(105, "liu", "谢谢大家的奶茶🧋", at(4, 3)),
        material(106, "liu", "血缘图还在做，大概一半", at(4, 3)),
    ]
    report = run_report(zh_history(), week, "liu")
    assert report["本周完成"] == ["DP-31 的回填跑完了"]
    assert report["风险"] == ["还卡在权限申请上，等运维"]
    assert report["下周计划"] == ["开始做指标口径统一"]
    assert report["进行中"] == ["血缘图还在做，大概一半"]


def test_one_piece_of_work_is_one_bullet_in_its_latest_state() -> None:
    week = [
        material(201, "chen", "提了 PR 88，宽表拆分第二步", at(4, 0)),
        material(202, "chen", "PR 88 合了 🎉", at(4, 2)),
        material(203, "chen", "下周：告警降噪", at(4, 3)),
    ]
    report = run_report(zh_history(), week, "chen")
    assert report["本周完成"] == ["PR 88 合了"]
    assert sum(len(v) for v in report.values()) == 2


def test_notes_the_person_posted_give_them_only_their_own_actions() -> None:
    notes = (
        "周会 2027-03-29\n决定：下周冻结需求\n待办：@liu 周三前整理口径文档\n"
        "待办：@chen 跟进权限\n待办：@wang 更新看板"
    )
    week = [
        material(301, "liu", notes, at(4, 0)),
        material(302, "liu", "DP-40 上线了", at(4, 2)),
    ]
    report = run_report(zh_history(), week, "liu")
    everything = " ".join(i for items in report.values() for i in items)
    assert "整理口径文档" in everything
    assert "跟进权限" not in everything and "更新看板" not in everything


def reviews(texts: list[tuple[str, str]]) -> list[Material]:
    return [material(400 + n, who, text, at(n % 4)) for n, (who, text) in enumerate(texts)]


def review(template: dict, code: str, live: set[str]) -> set[str]:
    request = RunRequest(requester="x", live=live, now=at(4), input_text=code)
    return set(CodeReview().run(template, request).data.get("broken", []))


def test_paraphrased_comments_by_different_people_are_one_rule() -> None:
    comments = reviews(
        [
            ("ann", "re PR 512: money should be Decimal, not float"),
            ("ben", "#518 — float arithmetic on prices again, quantize a Decimal"),
            ("cat", "keep currency values as `Decimal` please"),
            ("ben", "LGTM 🚀"),
        ]
    )
    learned = CodeReview().learn(comments)
    assert learned is not None
    [rule] = learned.template["rules"]
    assert rule["comments"] == 3 and rule["authors"] == ["ann", "ben", "cat"]
    live = {"ann", "ben", "cat"}
    assert review(learned.template, "price: float = 9.99", live) == {rule["id"]}
    assert review(learned.template, "price = Decimal('9.99')", live) == set()


def test_chinese_paraphrases_are_one_rule() -> None:
    comments = reviews(
        [
            ("liu", "别再用 select * 了"),
            ("chen", "PR 233 评审：SELECT * 又出现了，列名写全"),
            ("wang", "列名写全，不要 select *"),
        ]
    )
    learned = CodeReview().learn(comments)
    assert learned is not None
    [rule] = learned.template["rules"]
    live = {"liu", "chen", "wang"}
    assert review(learned.template, "SELECT * FROM orders WHERE dt = '2027-01-01'", live) == {
        rule["id"]
    }
    assert review(learned.template, "SELECT id, amount FROM orders", live) == set()


def test_a_standard_without_code_maps_to_a_check() -> None:
    comments = reviews(
        [
            ("ann", "PR 820: add type hints to public functions pls"),
            ("ben", "public func without type annotations again, please add them"),
        ]
    )
    learned = CodeReview().learn(comments)
    assert learned is not None
    [rule] = learned.template["rules"]
    live = {"ann", "ben"}
    assert review(learned.template, "def total(items):\n    return sum(items)", live) == {
        rule["id"]
    }
    assert (
        review(learned.template, "def total(items: list[int]) -> int:\n    return 0", live) == set()
    )


def test_a_call_that_must_carry_an_argument() -> None:
    comments = reviews(
        [
            ("ann", "requests.get without a timeout again, it hung the worker"),
            ("ben", "#77: always pass timeout to `requests.get`"),
        ]
    )
    learned = CodeReview().learn(comments)
    assert learned is not None
    [rule] = learned.template["rules"]
    live = {"ann", "ben"}
    assert review(learned.template, "r = requests.get(url)", live) == {rule["id"]}
    assert review(learned.template, "r = requests.get(url, timeout=5)", live) == set()


def test_chinese_notes_list_the_unowned_and_the_unanswered() -> None:
    notes = parse(
        "数据平台周会 4/12\n决定：宽表下周上线\n待办：@liu 周三前补齐监控\n"
        "告警看板那件事还没人接\n宽表要不要保留七天历史？"
    )
    found = dict((text, what) for what, text in unaddressed(notes))
    assert found == {"告警看板那件事还没人接": "owner", "宽表要不要保留七天历史？": "question"}


def test_speaker_turns_answer_each_other_and_are_no_fields() -> None:
    notes = parse(
        "Retro 2027-03-05\nann: should we keep the Friday deploys?\nben: no, we stop them\n"
        "ann: I'll write the new deploy calendar by Monday\ncat: who owns the flaky test list?",
        people={"ann", "ben", "cat"},
    )
    assert notes.fields() == {}
    open_issues = unaddressed(notes)
    assert [what for what, _ in open_issues] == ["owner"]
    [action] = [s for s in notes.statements if s.kind == "action"]
    assert action.owner == "ann" and action.due == "Monday"


def test_memo_never_claims_all_answered_and_names_the_type() -> None:
    history = [
        material(
            500 + n,
            who,
            f"Go/no-go {day:%Y-%m-%d} — release 5.{n}\nBlockers: none\nCall: GO\n"
            f"Action: {who} to submit to the stores",
            day,
        )
        for n, (who, day) in enumerate((("ann", at(0)), ("ben", at(1)), ("ann", at(2))))
    ]
    kind = MeetingMemo()
    learned = kind.learn(history)
    assert learned is not None
    assert [t["name"] for t in learned.template["types"]] == ["go/no-go"]
    request = RunRequest(
        requester="ann",
        live={"ann", "ben"},
        now=at(4),
        input_text="Go/no-go 2027-04-02 — release 5.9\nBlockers: none\nCall: GO\n"
        "Action: ben to submit to the stores by Friday",
    )
    result = kind.run(learned.template, request)
    assert result.data["type"] == "go/no-go"
    assert result.data["unaddressed"] == []
    assert "every question was answered" not in result.text
    assert "none found — I looked for" in result.text


def test_one_meeting_under_its_english_and_chinese_names_is_one_type() -> None:
    history = [
        material(600, "ann", "周会 3/1\n决定：冻结需求\n待办：@ann 周三前整理文档", at(0)),
        material(
            601, "ben", "weekly sync 3/8\nDecision: ship on Friday\nAction: ben to tag", at(1)
        ),
    ]
    learned = MeetingMemo().learn(history)
    assert learned is not None
    assert [t["notes"] for t in learned.template["types"]] == [2]


def test_a_rule_said_of_the_loop_flags_only_lines_in_a_loop() -> None:
    comments = reviews(
        [
            ("ann", "#12 `running_loss += loss.item()` inside the step loop syncs every step"),
            ("ben", "不要在 training loop 里 .item()，先累加 tensor"),
        ]
    )
    learned = CodeReview().learn(comments)
    assert learned is not None
    [rule] = learned.template["rules"]
    code = "for batch in loader:\n    total += loss.item()\nprint(total.item())"
    request = RunRequest(requester="x", live={"ann", "ben"}, now=at(4), input_text=code)
    result = CodeReview().run(learned.template, request)
    assert result.data["lines"] == {rule["id"]: [2]}


def test_a_required_statement_is_checked_on_scripts_of_that_language_only() -> None:
    comments = reviews(
        [
            ("ann", "`cleanup.sh` has no `set -euo pipefail` at the top"),
            ("ben", "PR 9: `drain.sh` again without `set -euo pipefail`"),
        ]
    )
    learned = CodeReview().learn(comments)
    assert learned is not None
    [rule] = learned.template["rules"]
    live = {"ann", "ben"}
    assert review(learned.template, "#!/usr/bin/env bash\nkubectl get pods", live) == {rule["id"]}
    assert (
        review(learned.template, "#!/bin/bash\nset -euo pipefail\nkubectl get pods", live) == set()
    )
    assert review(learned.template, "def main() -> None:\n    pass", live) == set()


def test_notes_on_one_line_give_the_poster_only_their_own_part() -> None:
    week = [
        material(
            700,
            "liu",
            "PIR notes: chen owns the retry fix, wang adds the alert, liu checks the DP-50 timeout",
            at(4, 0),
        ),
    ]
    history = zh_history()
    kind = WeeklyReport()
    learned = kind.learn(history)
    assert learned is not None
    request = RunRequest(
        requester="liu",
        live={"liu", "chen"},
        now=at(4, 4, 18),
        materials=week,
        examples=history,
        people=frozenset({"liu", "chen", "wang"}),
        period=(at(4, 0, -9), at(5, 0, -9)),
        period_label="2027-W13",
    )
    result = kind.run(learned.template, request)
    everything = " ".join(i["text"] for s in result.data["sections"] for i in s["items"])
    assert "DP-50" in everything
    assert "retry fix" not in everything and "alert" not in everything
