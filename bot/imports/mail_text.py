"""A mail's own words: the sender's text without quoted replies, signatures or forwarded parts.

Attachments are never read: only the message's body part (text/plain, else text/html) is
decoded, in its declared charset (GB2312/GBK read as their superset GB18030).
"""

from __future__ import annotations

import re
from email.message import EmailMessage, MIMEPart
from html.parser import HTMLParser

_ATTRIBUTION = (
    re.compile(r"^\s*On\b.{0,300}\bwrote\s*:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*在.{0,300}写道\s*[:：]\s*$", re.DOTALL),
    re.compile(r"^\s*Am\b.{0,300}\bschrieb\b.{0,100}:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*Le\b.{0,300}\ba écrit\s*:\s*$", re.IGNORECASE | re.DOTALL),
)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(original message|原始邮件|forwarded message|转发的邮件|邮件原文|"
    r"weitergeleitete nachricht|message transféré)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FORWARD_START = re.compile(r"^\s*(begin forwarded message|下面是被转发的邮件)\s*[:：]\s*$", re.I)
_HEADER_BLOCK = re.compile(r"^\s*\*?(from|发件人|寄件者)\s*\*?\s*[:：]", re.IGNORECASE)
_HEADER_FOLLOW = re.compile(
    r"^\s*\*?(sent|date|to|subject|cc|发送时间|时间|日期|收件人|主题|抄送)\s*\*?\s*[:：]",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*_{8,}\s*$")
_MOBILE = re.compile(
    r"^\s*(sent from my \w+|get outlook for \w+|发自我的\w+|从我的\w+发送)", re.IGNORECASE
)
_REPLY_SUBJECT = re.compile(r"^\s*(re|fw|fwd|aw|wg|tr|回复|答复|转发)\s*[:：]", re.IGNORECASE)
_CHINESE = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030"}


def own_words(message: EmailMessage) -> str:
    """The sender's own text: subject (unless a reply/forward) and body, quotes dropped."""
    body = _body_text(message)
    words = strip_quoted(body)
    subject = str(message.get("Subject", "") or "").strip()
    if subject and not _REPLY_SUBJECT.match(subject) and words:
        return f"{subject}\n{words}"
    return words


def strip_quoted(text: str) -> str:
    """Drop `>` quotes, the reply header ("On … wrote:"), what follows an original-message
    or forward marker or a `-- ` signature line, and "Sent from my phone" lines."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if line.rstrip() == "--":  # RFC 3676's "-- " (some clients drop the space)
            break
        if _ORIGINAL.match(line) or _FORWARD_START.match(line) or _RULE.match(line):
            break
        if _HEADER_BLOCK.match(line) and any(_HEADER_FOLLOW.match(n) for n in lines[i + 1 : i + 5]):
            break  # Outlook / Foxmail: a header block, then the original without `>`
        attribution = _attribution_at(lines, i)
        if attribution:
            if not _quoted_follows(lines, i + attribution):
                break  # the original follows unquoted: none of it is the sender's
            continue
        if i > 0 and _attribution_at(lines, i - 1) == 2:
            continue  # the second half of a wrapped "On … wrote:"
        if line.lstrip().startswith(">") or _MOBILE.match(line):
            continue
        kept.append(line.rstrip())
    return _tidy(kept)


def _attribution_at(lines: list[str], i: int) -> int:
    """1 or 2 when an attribution line ("On … wrote:") starts at line i (2: wrapped)."""
    if any(p.match(lines[i]) for p in _ATTRIBUTION):
        return 1
    if i + 1 < len(lines) and lines[i].strip() and not lines[i].lstrip().startswith(">"):
        joined = lines[i].rstrip() + " " + lines[i + 1].strip()
        if any(p.match(joined) for p in _ATTRIBUTION) and lines[i].lstrip()[:2] in ("On", "在"):
            return 2
    return 0


def _quoted_follows(lines: list[str], start: int) -> bool:
    for line in lines[start:]:
        if line.strip():
            return line.lstrip().startswith(">")
    return True


def _tidy(lines: list[str]) -> str:
    text = "\n".join(lines).strip()
    return re.sub(r"\n{3,}", "\n\n", text)


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _decode(part)
    return html_to_text(text) if part.get_content_subtype() == "html" else text


def _decode(part: MIMEPart) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    declared = (part.get_content_charset() or "").lower()
    for charset in (_CHINESE.get(declared, declared) or "utf-8", "utf-8", "gb18030"):
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")


class _TextOfHtml(HTMLParser):
    BLOCKS = {"p", "div", "li", "tr", "h1", "h2", "h3", "h4", "table"}
    VOID = {"br", "img", "hr", "meta", "input", "link", "wbr", "col", "area", "base", "source"}
    SKIPPED = {"blockquote", "style", "script", "head", "title"}  # quotes and what is not text

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping: list[str] = []  # open elements inside a skipped one

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            if tag == "br" and not self._skipping:
                self.parts.append("\n")
            return
        classes = " ".join(v or "" for k, v in attrs if k == "class").lower()
        if self._skipping or tag in self.SKIPPED or "quote" in classes or "signature" in classes:
            self._skipping.append(tag)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skipping:
            if tag in self._skipping:
                while self._skipping.pop() != tag:
                    pass
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Text of an HTML mail body, blockquoted replies and marked signatures left out."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    return "\n".join(lines)
