"""A mail's own words: what is the sender's, and what is someone else's."""

from __future__ import annotations

from bot.imports.mail_text import html_to_text, strip_quoted


def test_interleaved_replies_keep_each_answer_and_drop_each_quote() -> None:
    text = (
        "On Tue, 1 Dec 2026, Bob wrote:\n> Can you ship Friday?\nYes, Friday.\n\n"
        "> And the docs?\nDocs on Monday."
    )
    assert strip_quoted(text) == "Yes, Friday.\n\nDocs on Monday."


def test_a_foxmail_header_block_ends_the_own_words() -> None:
    text = (
        "同意，周五发布。\n\n------------------ 原始邮件 ------------------\n"
        "发件人: Bob\n发送时间: 2026年12月1日\n主题: 发布\n\n什么时候发布？"
    )
    assert strip_quoted(text) == "同意，周五发布。"


def test_an_outlook_block_without_a_marker_ends_the_own_words() -> None:
    text = "Approved.\n\nFrom: Bob Smith\nSent: Tuesday, December 1, 2026\nTo: Alice\n\nOK?"
    assert strip_quoted(text) == "Approved."


def test_an_unquoted_original_after_on_wrote_is_dropped() -> None:
    assert strip_quoted("Fine by me.\nOn Mon, Bob wrote:\nthe original, unquoted") == "Fine by me."


def test_phone_footers_and_signatures_are_dropped() -> None:
    assert strip_quoted("Done.\n发自我的iPhone\n--\nAlice, +1 555 0100") == "Done."


def test_a_line_mentioning_from_in_prose_is_kept() -> None:
    assert strip_quoted("From: the team, thanks all.") == "From: the team, thanks all."


def test_html_blockquotes_and_signatures_are_left_out() -> None:
    html = (
        "<p>Ship it.</p><div class='gmail_signature'>Alice | <b>PM</b></div>"
        "<blockquote><p>Ready?</p></blockquote><p>Thanks</p>"
    )
    assert [line for line in html_to_text(html).split("\n") if line] == ["Ship it.", "Thanks"]
