"""Find and mask personal data and secrets in chat text.

Every message is passed through :func:`redact` before it is stored and again
before it is sent to a model.  Each detected span is replaced by a placeholder
naming its kind:

===================== ==============================================================
placeholder           what it replaces
===================== ==============================================================
``[email]``           e-mail addresses
``[phone]``           phone numbers: international ``+CC …``, North American,
                      Chinese mobiles (``1[3-9]x xxxx xxxx``, optional ``+86``/``86``/
                      ``0086``) and Chinese landlines (``0xx-xxxxxxxx``)
``[id-number]``       Chinese resident identity card numbers (18 characters, GB 11643
                      check digit and a real birth date between 1900 and 2099)
``[card]``            payment card numbers (13–19 digits, plain or grouped with
                      spaces/dashes, Luhn-valid, first digit 2–6 or 9)
``[ip]``              IPv4 and IPv6 addresses
``[secret]``          API keys and tokens (Slack, OpenAI-style ``sk-``, AWS access key
                      ids, GitHub, Google, Stripe, JWTs), ``Bearer``/``Authorization``
                      credentials, PEM private key blocks, and the *value* of
                      ``password=…`` / ``secret: …`` / ``api_key=…`` / ``token=…`` /
                      ``密码：…`` style assignments (the key name is kept)
``[url-credentials]`` the ``user:password`` part of ``scheme://user:password@host``
                      (scheme and host are kept)
===================== ==============================================================

:func:`find_pii` returns the spans :func:`redact` would replace: sorted,
non-overlapping :class:`PiiSpan` objects.  Overlapping detections are merged
into one span (labelled with the most sensitive kind) so the output never
shows part of a secret.  Full-width digits and ``＠`` typed by Chinese input
methods are recognised too.

Deliberately *not* detected (too ambiguous for chat text): personal names and
postal addresses, bare 10-digit North American numbers without any separator,
15-digit first-generation Chinese IDs (no check digit), cards whose first digit
is 0, 1, 7 or 8 (keeps timestamps and order numbers out), internationalised
(non-ASCII) e-mail addresses, MAC addresses, ``::1``-style IPv6 shorthands with
a single group, passwords given in prose ("my password is …"), and URL
passwords containing an unescaped ``/``, ``?`` or ``#``.

Everything is compiled at import.  Each detector sits behind a cheap gate
(a substring test or a tiny regex) so a message without any candidate costs a
handful of C-level scans.  The functions are pure: no I/O, no logging, and no
exception raised here ever carries any of the input text.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date

__all__ = ["PLACEHOLDERS", "PiiSpan", "find_pii", "redact"]

EMAIL = "email"
PHONE = "phone"
ID_NUMBER = "id-number"
CARD = "card"
IP = "ip"
SECRET = "secret"
URL_CREDENTIALS = "url-credentials"

# When spans overlap, the merged span takes the kind that comes first here.
_PRIORITY = {
    kind: rank
    for rank, kind in enumerate((URL_CREDENTIALS, SECRET, ID_NUMBER, CARD, PHONE, EMAIL, IP))
}
PLACEHOLDERS: dict[str, str] = {kind: f"[{kind}]" for kind in _PRIORITY}
_PLACEHOLDER_TEXTS = frozenset(PLACEHOLDERS.values())

# A redacted text is scanned again until stable so that redact() is idempotent
# even when a replacement exposes a new candidate; two passes are the norm.
_MAX_PASSES = 4


@dataclass(frozen=True, slots=True)
class PiiSpan:
    """One detected span: ``text[start:end]`` is PII of ``kind``."""

    kind: str
    start: int
    end: int


Span = tuple[int, int]
Check = Callable[[re.Match[str]], "Span | None"]


def _compile(pattern: str) -> re.Pattern[str]:
    # ASCII: \d and \w must not match CJK characters or non-Latin digits, so
    # "张三13812345678" still has a boundary between the name and the number.
    return re.compile(pattern, re.ASCII | re.VERBOSE)


# --------------------------------------------------------------------------- helpers


def _scan(pattern: re.Pattern[str], text: str, check: Check | None = None) -> Iterator[Span]:
    """Yield spans of ``pattern`` in ``text`` that pass ``check``.

    Unlike ``finditer``, a candidate rejected by ``check`` only advances the
    search by one character, so a valid match overlapping a rejected one
    (e.g. a real card right after a number that fails Luhn) is still found.
    """
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        span = m.span() if check is None else check(m)
        if span is None:
            pos = m.start() + 1
            continue
        if span[1] > span[0]:
            yield span
        pos = max(span[1], m.start() + 1)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_TOKEN_SEPARATORS = re.compile(r"[-_]")


def _looks_random(token: str) -> bool:
    """True for machine-generated tokens, False for prose like ``sk-learn-docs-v2``."""
    has_digit = any(c.isdigit() for c in token)
    has_upper = any(c.isupper() for c in token)
    has_lower = any(c.islower() for c in token)
    if not has_digit or not (has_upper or has_lower):
        return False
    longest_segment = max(len(part) for part in _TOKEN_SEPARATORS.split(token))
    return longest_segment >= 16 or (has_upper and has_lower)


# --------------------------------------------------------------------------- e-mail

_EMAIL = _compile(
    r"""
    (?<![A-Za-z0-9_%+-])              # start of the local part, not the middle of a word
    [A-Za-z0-9_%+-] [A-Za-z0-9._%+'-]*  # local part (apostrophe allowed inside: o'brien@)
    @
    (?: [A-Za-z0-9] (?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])? \. )+
    (?: [A-Za-z]{2,63} | [Xx][Nn]--[A-Za-z0-9-]{1,59} )   # TLD, including punycode ones
    """
)
# "https://user:pa@ss@host": the tail "ss@host" looks like an e-mail but belongs
# to URL credentials, whose span must stop before the host.
_URL_USERINFO_BEFORE = _compile(r"://[^\s/?\#@:]*:[^\s/?\#]*\Z")


def _check_email(m: re.Match[str]) -> Span | None:
    start = m.start()
    if _URL_USERINFO_BEFORE.search(m.string, max(0, start - 512), start):
        return None
    return m.span()


def _find_emails(text: str) -> Iterator[Span]:
    return _scan(_EMAIL, text, _check_email)


# --------------------------------------------------------------------------- URL credentials

_URL_CREDENTIALS = _compile(
    r"""
    [A-Za-z][A-Za-z0-9+.-]{0,30}://
    (?P<cred> [^\s/?\#@:]* : [^\s/?\#]+ )   # user:password; greedy, so a password
    @                                      # containing '@' ends at the *last* '@'
    """
)


def _find_url_credentials(text: str) -> Iterator[Span]:
    return _scan(_URL_CREDENTIALS, text, lambda m: m.span("cred"))


# --------------------------------------------------------------------------- phones

# Chinese mobile: 1[3-9]x xxxx xxxx with optional +86 / 0086 / (+86) / 86 prefix.
_CN_MOBILE = _compile(
    r"""
    (?<![0-9A-Za-z+])
    (?: (?:\+|00)86[ -]? | \(\+?86\)[ -]? | 86[ -]? )?
    1[3-9][0-9] (?:[ -]?[0-9]{4}){2}
    (?![0-9A-Za-z])
    """
)
# Chinese landline: area code 010, 02x or 0xxx, then a 7-8 digit number.  The
# separator (or parentheses) is required: bare 0-prefixed digit runs are too
# often something else.
_CN_LANDLINE = _compile(
    r"""
    (?<![0-9A-Za-z-])
    (?: \(0(?:10|2[0-9]|[3-9][0-9]{2})\)[ -]? | 0(?:10|2[0-9]|[3-9][0-9]{2})[ -] )
    [1-9][0-9]{6,7}
    (?![0-9A-Za-z])
    """
)
# North American: (415) 555-2671, 415-555-2671, 415.555.2671, 1-800-555-0199.
# Area code and exchange start with 2-9; the separator must be consistent (\g<sep>)
# so dates and version strings do not qualify.
_NANP = _compile(
    r"""
    (?<![0-9A-Za-z+])
    (?: \+?1[ .-]? )?
    (?: \([2-9][0-9]{2}\)\ ?[2-9][0-9]{2}[ .-]?[0-9]{4}
      | [2-9][0-9]{2}(?P<sep>[ .-])[2-9][0-9]{2}(?P=sep)[0-9]{4} )
    (?![0-9A-Za-z])
    """
)
# International: '+', then digit groups separated by single spaces, dots or
# dashes, with optional parenthesised groups, e.g. +44 (0)20 7946 0958.
# Possessive quantifiers keep this linear on long digit runs.
_INTL_PHONE = _compile(
    r"""
    (?<![0-9A-Za-z+])
    \+[0-9]++
    (?: [ .-]?\([0-9]{1,5}\) | [ .-]?[0-9]++ )*+
    """
)
_DIGIT_GROUP = _compile(r"[0-9]+")
_MIN_INTL_DIGITS, _MAX_INTL_DIGITS = 8, 15  # E.164 allows at most 15 digits


def _check_intl_phone(m: re.Match[str]) -> Span | None:
    """Accept 8..15 digits; from a longer run keep the leading groups that fit."""
    count, end = 0, m.start()
    for group in _DIGIT_GROUP.finditer(m.string, m.start(), m.end()):
        if count + len(group[0]) > _MAX_INTL_DIGITS:
            break
        count, end = count + len(group[0]), group.end()
        if m.string[end : end + 1] == ")":
            end += 1
    return (m.start(), end) if count >= _MIN_INTL_DIGITS else None


def _find_phones(text: str) -> Iterator[Span]:
    yield from _scan(_CN_MOBILE, text)
    yield from _scan(_CN_LANDLINE, text)
    yield from _scan(_NANP, text)
    if "+" in text:
        yield from _scan(_INTL_PHONE, text, _check_intl_phone)


# --------------------------------------------------------------------------- Chinese ID

# 6-digit region + YYYYMMDD + 3-digit sequence + check character; optional
# single spaces between the three blocks must be consistent (\g<s>).
_CN_ID = _compile(
    r"""
    (?<![0-9A-Za-z])
    (?P<region>[1-8][0-9]{5}) (?P<s>\ ?)
    (?P<birth>(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01]))
    (?P=s) (?P<seq>[0-9]{3}) (?P<check>[0-9Xx])
    (?![0-9A-Za-z])
    """
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"


def _id_check_char(first17: str) -> str:
    """GB 11643-1999 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def _valid_birth_date(yyyymmdd: str) -> bool:
    try:
        date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return False
    return True


def _check_cn_id(m: re.Match[str]) -> Span | None:
    first17 = m["region"] + m["birth"] + m["seq"]
    if m["check"].upper() != _id_check_char(first17) or not _valid_birth_date(m["birth"]):
        return None
    return m.span()


def _find_cn_ids(text: str) -> Iterator[Span]:
    return _scan(_CN_ID, text, _check_cn_id)


# --------------------------------------------------------------------------- payment cards

# A run of digit groups separated by single spaces or dashes.  Card numbers are
# searched *inside* each run (see _card_spans_in_run) so that neighbouring
# numbers cannot hide a card, e.g. "ref 12 4111 1111 1111 1111".
_DIGIT_RUN = _compile(r"(?<![0-9A-Za-z]) [0-9]++ (?:[ -][0-9]++)*+")
_CARD_FIRST_DIGITS = frozenset("234569")
_MIN_CARD, _MAX_CARD = 13, 19


def _is_card(digits: str) -> bool:
    return (
        _MIN_CARD <= len(digits) <= _MAX_CARD
        and digits[0] in _CARD_FIRST_DIGITS
        and _luhn_ok(digits)
    )


def _card_spans_in_run(groups: list[re.Match[str]]) -> Iterator[Span]:
    """Cards are one 13-19 digit group, or 2+ groups: first of 4-6 digits, then 3-6."""
    for i, first in enumerate(groups):
        if _is_card(first[0]):
            yield first.span()
        if not 4 <= len(first[0]) <= 6:
            continue
        digits = first[0]
        for group in groups[i + 1 :]:
            if not 3 <= len(group[0]) <= 6 or len(digits) >= _MAX_CARD:
                break
            digits += group[0]
            if _is_card(digits):
                yield first.start(), group.end()


def _find_cards(text: str) -> Iterator[Span]:
    for run in _DIGIT_RUN.finditer(text):
        if run.end() - run.start() < _MIN_CARD:
            continue
        groups = list(_DIGIT_GROUP.finditer(text, run.start(), run.end()))
        yield from _card_spans_in_run(groups)


# --------------------------------------------------------------------------- IP addresses

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
# Lookarounds reject version strings and OIDs: "v1.2.3.4" and "1.2.3.4.5" are
# not addresses, but a sentence-ending dot ("... is 10.0.0.1.") is fine.
_IPV4 = _compile(
    rf"""
    (?<![0-9A-Za-z]) (?<![0-9]\.)
    (?:{_OCTET}\.){{3}}{_OCTET}
    (?![0-9A-Za-z]|\.[0-9])
    """
)
# A loose IPv6 candidate; ipaddress decides.  Not preceded by a letter or digit
# so "std::vector" or "Foo::Bar" never starts a candidate.
_IPV6 = _compile(
    r"""
    (?<![0-9A-Za-z.])
    (?:[0-9A-Fa-f]{0,4}:){2,7}
    (?:[0-9]{1,3}(?:\.[0-9]{1,3}){3} | [0-9A-Fa-f]{0,4})
    """
)


_IPV6_SEPARATORS = re.compile(r"[:.]")


def _is_ipv6(candidate: str) -> bool:
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    # "::1" and slice syntax like "x[1::2]" are valid addresses but not PII;
    # require two groups and one of them long, or four groups.
    groups = [g for g in _IPV6_SEPARATORS.split(candidate) if g]
    return len(groups) >= 4 or (len(groups) >= 2 and max(map(len, groups)) >= 3)


def _check_ipv6(m: re.Match[str]) -> Span | None:
    start, end = m.span()
    if _is_ipv6(m[0]):
        return start, end
    if m[0].endswith(":") and not m[0].endswith("::") and _is_ipv6(m[0][:-1]):
        return start, end - 1  # "fe80::1: next words"
    return None


def _find_ipv4(text: str) -> Iterator[Span]:
    return _scan(_IPV4, text)


def _find_ipv6(text: str) -> Iterator[Span]:
    return _scan(_IPV6, text, _check_ipv6)


# --------------------------------------------------------------------------- secrets

# Provider tokens with a recognisable prefix.  The leading lookbehind keeps
# words like "risk-..." or "ghost_..." from matching mid-word.
_PREFIXED_TOKEN = _compile(
    r"""
    (?<![A-Za-z0-9_-])
    (?: xox[abeprs](?:\.xox[abeprs])?-[A-Za-z0-9-]{10,}      # Slack bot/user/refresh
      | xapp-[0-9]-[A-Za-z0-9-]{10,}                         # Slack app-level
      | gh[pousr]_[A-Za-z0-9]{36,}                           # GitHub classic
      | github_pat_[A-Za-z0-9_]{22,}                         # GitHub fine-grained
      | (?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])   # AWS access key id
      | AIza[A-Za-z0-9_-]{35}                                # Google API key
      | (?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}             # Stripe secret/restricted
      | eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*  # JWT: '{"' is "eyJ"
    )
    """
)

# OpenAI-style keys (also Anthropic "sk-ant-…", DeepSeek "sk-<hex>").
_SK_KEY = _compile(r"(?<![A-Za-z0-9_-]) sk-[A-Za-z0-9_-]{20,}")

# "Bearer <token>" anywhere (headers, curl commands); keep the word "Bearer".
_BEARER = _compile(r"\b(?i:bearer)[ \t]+(?P<v>[A-Za-z0-9._~+/=-]{8,})")
# "Authorization: <scheme> <credentials>": keep the header and scheme names.
_AUTHORIZATION = _compile(
    r"""
    \b(?i:authorization)["']?[ \t]*[:=][ \t]*["']?
    (?:(?i:bearer|basic|digest|token)[ \t]+)?
    (?P<v>[^\s"']+)
    """
)

_PEM = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----"
    # A block without its END line (truncated paste) is redacted to the end.
    r"(?:.*?-----END[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|.*)",
    re.DOTALL,
)

# key = value / key: value assignments.  Only the value is redacted.
_SECRET_KEYWORD = r"""
    (?i: passw(?:or)?d | passphrase | pwd | secret | token | credentials?
       | api[_-]?key | access[_-]?key | private[_-]?key )
    (?i: [_.-]?(?:access[_-]?)?key )?
"""
_ASSIGNMENT = _compile(
    rf"""
    (?: {_SECRET_KEYWORD} (?![A-Za-z0-9])     # also inside DB_PASSWORD, x-api-key, …
      | 密码 | 口令 | 密钥 | 令牌 )
    ["']? [ \t]* (?: => | [:=：] | 是 ) [ \t]*
    (?: "(?P<dq>(?:[^"\\\n]|\\.)+)"?            # double-quoted (closing quote optional)
      | '(?P<sq>(?:[^'\\\n]|\\.)+)'?            # single-quoted
      | (?P<bare>[!-~][^\s'"&，。；！？、]*) )    # bare: up to whitespace, quote, '&'
    """
)


def _check_assignment(m: re.Match[str]) -> Span | None:
    group = next(name for name in ("dq", "sq", "bare") if m[name] is not None)
    if m[group] in _PLACEHOLDER_TEXTS:  # already redacted; keeps redact() idempotent
        return None
    return m.span(group)


def _check_sk_key(m: re.Match[str]) -> Span | None:
    return m.span() if _looks_random(m[0][3:]) else None


def _check_bearer(m: re.Match[str]) -> Span | None:
    token = m["v"]
    if not any(c.isdigit() for c in token) or token in _PLACEHOLDER_TEXTS:
        return None  # "bearer instruments" is prose, not a token
    return m.span("v")


def _check_authorization(m: re.Match[str]) -> Span | None:
    return None if m["v"] in _PLACEHOLDER_TEXTS else m.span("v")


def _find_prefixed_tokens(text: str) -> Iterator[Span]:
    return _scan(_PREFIXED_TOKEN, text)


def _find_sk_keys(text: str) -> Iterator[Span]:
    return _scan(_SK_KEY, text, _check_sk_key)


def _find_bearer(text: str) -> Iterator[Span]:
    yield from _scan(_BEARER, text, _check_bearer)
    yield from _scan(_AUTHORIZATION, text, _check_authorization)


def _find_pem(text: str) -> Iterator[Span]:
    return _scan(_PEM, text)


def _find_assignments(text: str) -> Iterator[Span]:
    return _scan(_ASSIGNMENT, text, _check_assignment)


# --------------------------------------------------------------------------- registry

# Gates are cheap tests run before a group of detectors: a false gate means
# none of the group's patterns can match, so most messages skip most regexes.
_MAYBE_LONG_NUMBER = _compile(r"[0-9](?:[ ()+.-]{0,2}[0-9]){6}").search  # >= 7 digits
_MAYBE_IPV4 = _compile(r"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]").search
_MAYBE_IPV6 = _compile(r":[0-9A-Fa-f]{0,4}:").search
_MAYBE_TOKEN = _compile(
    r"xox|xapp-|gh[pousr]_|github_pat_|A[KS]IA|ABIA|ACCA|AIza|_live_|_test_|eyJ"
).search
_ASSIGNMENT_WORDS = ("pass", "pwd", "secret", "token", "key", "credential", "密码", "口令", "密钥", "令牌")


def _maybe_assignment(text: str) -> bool:
    lowered = text.lower()  # only for the gate: lower() may change offsets
    return any(word in lowered for word in _ASSIGNMENT_WORDS)


def _maybe_authorization(text: str) -> bool:
    return any(word in text for word in ("earer", "EARER", "uthoriz", "UTHORIZ"))


Finder = Callable[[str], Iterable[Span]]


@dataclass(frozen=True, slots=True)
class _Detectors:
    gate: Callable[[str], object]
    finders: tuple[tuple[str, Finder], ...]


_REGISTRY: tuple[_Detectors, ...] = (
    _Detectors(lambda t: "://" in t and "@" in t, ((URL_CREDENTIALS, _find_url_credentials),)),
    _Detectors(lambda t: "-----BEGIN" in t, ((SECRET, _find_pem),)),
    _Detectors(_MAYBE_TOKEN, ((SECRET, _find_prefixed_tokens),)),
    _Detectors(lambda t: "sk-" in t, ((SECRET, _find_sk_keys),)),
    _Detectors(_maybe_authorization, ((SECRET, _find_bearer),)),
    _Detectors(_maybe_assignment, ((SECRET, _find_assignments),)),
    _Detectors(
        _MAYBE_LONG_NUMBER,
        ((ID_NUMBER, _find_cn_ids), (CARD, _find_cards), (PHONE, _find_phones)),
    ),
    _Detectors(lambda t: "@" in t, ((EMAIL, _find_emails),)),
    _Detectors(lambda t: t.count(".") >= 3 and _MAYBE_IPV4(t), ((IP, _find_ipv4),)),
    _Detectors(_MAYBE_IPV6, ((IP, _find_ipv6),)),
)

# Chinese input methods produce full-width digits and symbols ("１３８…", "＠").
# They are folded to ASCII one-for-one, so offsets stay valid, but only when a
# full-width digit or '＠' is present: common full-width punctuation such as
# '，' or '：' alone does not pay for the translation.
_FULLWIDTH_TO_ASCII = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_HAS_FULLWIDTH_DIGIT = re.compile("[\uff10-\uff19\uff20]").search


# --------------------------------------------------------------------------- public API


def find_pii(text: str) -> list[PiiSpan]:
    """Return the PII spans in ``text``: sorted by start, never overlapping."""
    if not isinstance(text, str):
        raise TypeError(f"find_pii() expects str, not {type(text).__name__}")
    scan_text = text.translate(_FULLWIDTH_TO_ASCII) if _HAS_FULLWIDTH_DIGIT(text) else text
    spans = [
        PiiSpan(kind, start, end)
        for group in _REGISTRY
        if group.gate(scan_text)
        for kind, find in group.finders
        for start, end in find(scan_text)
    ]
    return _merge_overlaps(spans)


def redact(text: str) -> str:
    """Return ``text`` with every PII span replaced by its placeholder."""
    if not isinstance(text, str):
        raise TypeError(f"redact() expects str, not {type(text).__name__}")
    for _ in range(_MAX_PASSES):
        spans = find_pii(text)
        if not spans:
            break
        text = _replace(text, spans)
    return text


def _merge_overlaps(spans: list[PiiSpan]) -> list[PiiSpan]:
    """Union overlapping spans so no fragment of any detection survives."""
    spans.sort(key=lambda s: (s.start, -s.end))
    merged: list[PiiSpan] = []
    for span in spans:
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            kind = min(last.kind, span.kind, key=_PRIORITY.__getitem__)
            merged[-1] = PiiSpan(kind, last.start, max(last.end, span.end))
        else:
            merged.append(span)
    return merged


def _replace(text: str, spans: list[PiiSpan]) -> str:
    parts: list[str] = []
    pos = 0
    for span in spans:
        parts.append(text[pos : span.start])
        parts.append(PLACEHOLDERS[span.kind])
        pos = span.end
    parts.append(text[pos:])
    return "".join(parts)
