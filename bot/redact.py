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
                      ``0086`` prefix), Chinese landlines (``0xx-xxxxxxxx``) and UK
                      national numbers (``020 7946 0958``, ``07700 900123``, 10–11 digits
                      starting with 0, grouped; ungrouped only for ``07…`` mobiles)
``[id-number]``       Chinese resident identity card numbers (18 characters, GB 11643
                      check character and a real birth date in 1900–2099)
``[ssn]``             US social security numbers: ``123-45-6789`` (never area 000, 666
                      or 9xx, group 00 or serial 0000), and ``123 45 6789`` /
                      ``123456789`` right after "SSN" or "social security (number)"
``[passport]``        passport numbers (6–9 capital letters and digits, at least two
                      digits) after "passport (no./number/#)" or "护照(号/号码)"
``[iban]``            IBANs, plain or in groups of four, of the length their country
                      uses and passing the ISO 13616 mod-97 check
``[card]``            payment card numbers (13–19 digits, plain or grouped with
                      spaces/dashes, Luhn-valid, first digit 3–6 or 9, or a 2221–2720
                      Mastercard)
``[ip]``              IPv4 and IPv6 addresses
``[secret]``          API keys and tokens (Slack, OpenAI-style ``sk-``, AWS access key
                      ids and bare 40-character AWS secret keys, GitHub, Google, Stripe,
                      JWTs), ``Bearer``/``Authorization`` credentials, PEM private key
                      blocks, the *value* of ``password=…`` / ``secret: …`` /
                      ``api_key=…`` / ``token=…`` / ``密码：…`` / ``密码为 …`` style
                      assignments (the key name is kept), "password is X" when X holds a
                      digit or symbol, and ``mysql … -p'…'`` / ``sshpass -p …``
``[url-credentials]`` the ``user:password`` part of ``scheme://user:password@host``
                      (scheme and host are kept)
===================== ==============================================================

:func:`find_pii` returns the spans one pass of :func:`redact` replaces:
sorted, non-overlapping :class:`PiiSpan` objects whose ``kind`` is the
placeholder name without brackets.  (redact() then rescans its own output until
nothing is found, so ``redact(redact(x)) == redact(x)``; real text settles in
the first pass.)  Overlapping detections are merged into one span,
named after the widest of them, so the output never shows part of a secret.
Full-width digits and ``＠`` typed with Chinese input methods are recognised
too.

Deliberately *not* detected, because in chat text they are too ambiguous or
not worth the false positives: personal names and postal addresses; bare
10-digit North American numbers without any separator or ``+1``; 15-digit
first-generation Chinese IDs (they have no check digit); card numbers starting
with 0, 1, 7 or 8, or with 2 outside Mastercard's 2221–2720 (keeps timestamps and
"2026…" order numbers out); 9-digit numbers with no SSN or passport word before
them; lower-case IBANs; non-ASCII
(internationalised) e-mail addresses; MAC addresses; single-group IPv6
shorthands such as ``::1``; secrets given in prose without a digit or symbol
("the password is in the vault") or on the line after their key; URL passwords
containing an unescaped ``/``, ``?`` or ``#``.  An unquoted assignment value ends
at whitespace (except after ``passphrase``, where it runs to the end of the line).

Everything is compiled at import.  Each group of patterns sits behind a cheap
gate (a substring test or a tiny regex), so a message with no candidate costs
a few C-level scans.  The functions are pure: no I/O, no logging, and no
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
SSN = "ssn"
PASSPORT = "passport"
IBAN = "iban"

# Overlapping detections are merged and named after the widest one; between
# equally wide ones the kind that comes first here wins.
_PRIORITY = {
    kind: rank
    for rank, kind in enumerate(
        (URL_CREDENTIALS, SECRET, ID_NUMBER, SSN, PASSPORT, IBAN, CARD, PHONE, EMAIL, IP)
    )
}
PLACEHOLDERS: dict[str, str] = {kind: f"[{kind}]" for kind in _PRIORITY}
_PLACEHOLDER_TEXTS = tuple(PLACEHOLDERS.values())

# redact() rescans its own output until nothing is found, which makes it
# idempotent even when a replacement changes the context of a candidate (say,
# literal "[secret]" text typed next to an e-mail).  Real text needs one pass
# plus the confirming one; the bound only guards against surprises.
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
    # ASCII: \d, \w and \b must not treat CJK characters as word characters, so
    # that "张三13812345678" still has a boundary between the name and the number.
    return re.compile(pattern, re.ASCII | re.VERBOSE)


def _touches_placeholder(text: str, start: int, end: int) -> bool:
    """True if ``text[start:end]`` is glued to a placeholder on either side.

    A placeholder stands for the word it replaced.  Patterns that refuse to
    start or end next to a letter or digit must refuse a placeholder as well,
    otherwise redacting "AKIA…E+44…" would expose "[secret]+44…" as a new phone
    number and a second redact() would change the text again.  (Checked here
    rather than in each regex: seven lookbehinds at every position cost more
    than the rest of the pattern.)
    """
    return text.endswith(_PLACEHOLDER_TEXTS, 0, start) or text.startswith(_PLACEHOLDER_TEXTS, end)


@dataclass(frozen=True, slots=True)
class _Rule:
    """One pattern for one kind; ``check`` validates a match and picks its span.

    ``word`` marks patterns bounded like words (see ``_touches_placeholder``).
    """

    kind: str
    pattern: re.Pattern[str]
    check: Check | None = None  # None: the whole match is the span
    word: bool = False

    def __call__(self, text: str, pos: int = 0, endpos: int | None = None) -> Iterator[PiiSpan]:
        endpos = len(text) if endpos is None else endpos
        while (m := self.pattern.search(text, pos, endpos)) is not None:
            if self.word and _touches_placeholder(text, *m.span()):
                span = None
            else:
                span = m.span() if self.check is None else self.check(m)
            if span is None:
                # Unlike finditer(), step just past the rejected match's start, so
                # a valid candidate overlapping it (a real card right after a
                # number that fails Luhn) is still found.
                pos = m.start() + 1
                continue
            yield PiiSpan(self.kind, *span)
            pos = max(span[1], m.start() + 1)


# --------------------------------------------------------------------------- e-mail

# The RFC length limits (64-character local part, 127 labels) are not pedantry:
# they keep the scan linear on inputs such as "a.a.a.a…" with no '@' in sight.
_EMAIL = _compile(
    r"""
    (?<![A-Za-z0-9_%+-])                      # start of the local part, not mid-word
    [A-Za-z0-9_%+-] [A-Za-z0-9._%+'-]{0,63}   # local part; "'" allowed inside (o'brien@)
    @
    (?: [A-Za-z0-9] (?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])? \. ){1,126}
    (?: [Xx][Nn]--[A-Za-z0-9-]{1,59} | [A-Za-z]{2,63} )   # TLD, punycode ones first
    """
)
_EMAIL_RULE = _Rule(EMAIL, _EMAIL, word=True)

# --------------------------------------------------------------------------- URL credentials

# A URL scheme ("https", "postgres+asyncpg") starting at a word boundary.
_SCHEME = r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,30}"
_URL_CREDENTIALS = _compile(
    _SCHEME
    + r"""
    ://
    (?P<cred> [^\s/?\#:]* : [^\s/?\#]+ )  # user:password; greedy, so a user name or
    @                                   # password containing '@' ends at the *last* '@'
    """
)
_URL_CREDENTIALS_RULE = _Rule(
    URL_CREDENTIALS, _URL_CREDENTIALS, lambda m: m.span("cred"), word=True
)

# --------------------------------------------------------------------------- phones

# Chinese mobile: 1[3-9]x xxxx xxxx, optional +86 / 0086 / (+86) / 86 prefix.
_CN_MOBILE = _compile(
    r"""
    (?<![0-9A-Za-z+])
    (?: (?:\+|00)86[ -]? | \(\+?86\)[ -]? | 86[ -]? )?
    1[3-9][0-9] (?:[ -]?[0-9]{4}){2}
    (?![0-9A-Za-z])
    """
)
# Chinese landline: area code 010, 02x or 0xxx, then 7-8 digits.  A separator
# or parentheses are required: bare 0-prefixed digit runs are too often
# something else.
_CN_LANDLINE = _compile(
    r"""
    (?<![0-9A-Za-z-])
    (?: \(0(?:10|2[0-9]|[3-9][0-9]{2})\)[ -]? | 0(?:10|2[0-9]|[3-9][0-9]{2})[ -] )
    [1-9][0-9]{6,7}
    (?![0-9A-Za-z])
    """
)
# North American: (415) 555-2671, 415-555-2671, 415.555.2671, 1-800-555-0199.
# Area code and exchange start with 2-9 and the separator must repeat (?P=sep),
# which keeps dates, versions and IPs out.
_NANP = _compile(
    r"""
    (?<![0-9A-Za-z+])
    (?: \+?1[ .-]? )?
    (?: \([2-9][0-9]{2}\)\ ?[2-9][0-9]{2}[ .-]?[0-9]{4}
      | [2-9][0-9]{2}(?P<sep>[ .-])[2-9][0-9]{2}(?P=sep)[0-9]{4} )
    (?![0-9A-Za-z])
    """
)
# International: '+', then digit groups joined by single spaces, dots or dashes,
# optionally parenthesised: +44 (0)20 7946 0958.  Possessive quantifiers keep
# the scan linear on long digit runs.
_INTL_PHONE = _compile(
    r"""
    (?<![0-9A-Za-z+])
    \+[1-9][0-9]*+           # country codes never start with 0
    (?: [ .-]?\([0-9]{1,5}\) | [ .-]?[0-9]++ )*+
    """
)
# UK national numbers: 0 and 9-10 more digits, written in the usual groups
# ("020 7946 0958", "(0161) 496 0321", "07700 900123"); ungrouped only for 07
# mobiles.  "00…" (an international prefix) and digits glued to '+' or '-' are not.
_UK_PHONE = _compile(
    r"""
    (?<![0-9A-Za-z+-])
    (?: \(0[1-9][0-9]{1,4}\)\ ? [0-9]{3,6} (?:[ -]?[0-9]{3,4})?
      | 0[1-9][0-9]{1,4} [ -][0-9]{3,6} (?:[ -][0-9]{3,4})?
      | 07[1-9][0-9]{8} )
    (?![0-9A-Za-z]|[ -][0-9])
    """
)
_DIGIT_GROUP = _compile(r"[0-9]+")
_MIN_INTL_DIGITS, _MAX_INTL_DIGITS = 8, 15  # E.164 allows at most 15 digits


def _check_uk_phone(m: re.Match[str]) -> Span | None:
    digits = sum(len(g) for g in _DIGIT_GROUP.findall(m[0]))
    if digits == 11 or (digits == 10 and m[0].lstrip("(").startswith("01")):
        return m.span()
    return None


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


# --------------------------------------------------------------------------- Chinese ID

# 6-digit region, YYYYMMDD birth date, 3-digit sequence, check character.
# Optional single spaces between the blocks must be consistent (?P=s).
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


def _is_real_date(yyyymmdd: str) -> bool:
    try:
        date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:  # e.g. 19900230; the message names no input
        return False
    return True


def _check_cn_id(m: re.Match[str]) -> Span | None:
    first17 = m["region"] + m["birth"] + m["seq"]
    if m["check"].upper() != _id_check_char(first17) or not _is_real_date(m["birth"]):
        return None
    return m.span()


# --------------------------------------------------------------------------- US SSN

# 123-45-6789 anywhere; with spaces or none only right after the words.
_SSN_DASHED = _compile(
    r"""
    (?<![0-9A-Za-z-])
    (?P<area>[0-9]{3})-(?P<group>[0-9]{2})-(?P<serial>[0-9]{4})
    (?![0-9A-Za-z]|-[0-9])
    """
)
_SSN_NAMED = _compile(
    r"""
    (?i: \bssns?\b | \bsocial[ ]security\b )
    [^0-9\n]{0,24}?
    (?<![0-9])
    (?P<v> (?P<area>[0-9]{3})(?P<s>[ -]?)(?P<group>[0-9]{2})(?P=s)(?P<serial>[0-9]{4}) )
    (?![0-9])
    """
)


def _ssn_is_assignable(m: re.Match[str]) -> bool:
    area = m["area"]
    return (
        area not in ("000", "666")
        and area[0] != "9"
        and m["group"] != "00"
        and (m["serial"] != "0000")
    )


def _check_ssn_dashed(m: re.Match[str]) -> Span | None:
    return m.span() if _ssn_is_assignable(m) else None


def _check_ssn_named(m: re.Match[str]) -> Span | None:
    return m.span("v") if _ssn_is_assignable(m) else None


# --------------------------------------------------------------------------- passports

# Formats differ by country (E12345678, EA1234567, 925076473, C01X00T47), so a
# passport number is only recognised right after the word.
_PASSPORT = _compile(
    r"""
    (?: (?i:passport) | 护照 )
    (?: [^\n.。!?！？;；] | (?<=[Nn]o)\. ){0,24}?
    (?<![0-9A-Za-z])
    (?P<v>[A-Z0-9]{6,9})
    (?![0-9A-Za-z])
    """
)


def _check_passport(m: re.Match[str]) -> Span | None:
    value = m["v"]
    return m.span("v") if sum(c.isdigit() for c in value) >= 2 else None


# --------------------------------------------------------------------------- IBAN

# ISO 13616 lengths of the countries that issue IBANs (SWIFT IBAN registry).
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
# Country, check digits, then letters and digits, single spaces allowed between
# them; the candidate is cut at its country's length.
_IBAN = _compile(r"(?<![0-9A-Za-z]) [A-Z]{2}[0-9]{2} (?:\ ?[A-Z0-9]){11,30}")
_IBAN_START = _compile(r"[A-Z]{2}[0-9]{2}")


def _iban_checks(compact: str) -> bool:
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _check_iban(m: re.Match[str]) -> Span | None:
    length = _IBAN_LENGTHS.get(m[0][:2])
    if length is None:
        return None
    text, count, end = m.string, 0, m.start()
    while count < length and end < m.end():
        if text[end] != " ":
            count += 1
        end += 1
    if count < length or (end < len(text) and text[end].isascii() and text[end].isalnum()):
        return None
    compact = text[m.start() : end].replace(" ", "")
    return (m.start(), end) if _iban_checks(compact) else None


# --------------------------------------------------------------------------- payment cards

# A run of digit groups joined by single spaces or dashes.  Card numbers are
# looked for *inside* each run, so neighbouring numbers cannot hide a card:
# "ref 12 4111 1111 1111 1111" still loses the card.
_DIGIT_RUN = _compile(r"(?<![0-9A-Za-z]) [0-9]++ (?:[ -][0-9]++)*+")
_CARD_FIRST_DIGITS = frozenset("34569")
_MIN_CARD, _MAX_CARD = 13, 19


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _is_card(digits: str) -> bool:
    return (
        _MIN_CARD <= len(digits) <= _MAX_CARD
        and (digits[0] in _CARD_FIRST_DIGITS or "2221" <= digits[:4] <= "2720")
        and _luhn_ok(digits)
    )


def _cards_in_run(groups: list[re.Match[str]]) -> Iterator[PiiSpan]:
    """A card is one 13-19 digit group, or a first group of 4-6 digits then groups of 2-6."""
    for i, first in enumerate(groups):
        if _is_card(first[0]):
            yield PiiSpan(CARD, *first.span())
        if not 4 <= len(first[0]) <= 6:
            continue
        digits = first[0]
        for group in groups[i + 1 :]:
            if not 2 <= len(group[0]) <= 6 or len(digits) >= _MAX_CARD:
                break
            digits += group[0]
            if _is_card(digits):
                yield PiiSpan(CARD, first.start(), group.end())


def _find_cards(text: str, pos: int, endpos: int) -> Iterator[PiiSpan]:
    for run in _DIGIT_RUN.finditer(text, pos, endpos):
        if run.end() - run.start() < _MIN_CARD:
            continue
        groups = list(_DIGIT_GROUP.finditer(text, *run.span()))
        # A group glued to a placeholder is not a word of its own: leave it out.
        if text.endswith(_PLACEHOLDER_TEXTS, 0, run.start()):
            groups = groups[1:]
        if text.startswith(_PLACEHOLDER_TEXTS, run.end()):
            groups = groups[:-1]
        yield from _cards_in_run(groups)


# --------------------------------------------------------------------------- numbers

# Every phone, ID and card number lies inside a run of digits, spaces, dots,
# dashes, parentheses and '+' holding at least 7 digits.  Finding those runs
# first means prose with years, times and prices ("3.11.7", "17:00", "1299.00")
# never reaches the detailed patterns, and a run too short for a pattern skips it.
_NUMBER_CLUSTER = _compile(r"[0-9] (?:[ ()+.-]*+[0-9]){6} (?:[ ()+.-]*+[0-9])*+ [Xx]?")
_CLUSTER_LEAD = 3  # "(+86", "+1 (": the prefix before a cluster's first digit
_IBAN_LEAD = 16  # "MT84 MALT 0110 …": the letters and digits before the first digit run
_NUMBER_RULES = (  # (shortest cluster that can hold a match, rule)
    (18, _Rule(ID_NUMBER, _CN_ID, _check_cn_id, word=True)),
    (11, _Rule(PHONE, _CN_MOBILE, word=True)),
    (11, _Rule(PHONE, _CN_LANDLINE, word=True)),
    (12, _Rule(PHONE, _NANP, word=True)),
    (11, _Rule(PHONE, _UK_PHONE, _check_uk_phone, word=True)),
    (11, _Rule(SSN, _SSN_DASHED, _check_ssn_dashed, word=True)),
    (8, _Rule(PHONE, _INTL_PHONE, _check_intl_phone, word=True)),
)


def _find_numbers(text: str) -> Iterator[PiiSpan]:
    iban_searched_to = 0
    for cluster in _NUMBER_CLUSTER.finditer(text):
        length = cluster.end() - cluster.start()
        # One extra character at the end lets trailing lookaheads see past it.
        pos, endpos = max(0, cluster.start() - _CLUSTER_LEAD), cluster.end() + 1
        for min_length, rule in _NUMBER_RULES:
            if length >= min_length:
                yield from rule(text, pos, endpos)
        if length >= _MIN_CARD:
            yield from _find_cards(text, pos, endpos)
        # Every IBAN holds a run of seven or more digits within its first few groups
        # ("GB82 WEST 1234 5698…"): look for its start just before each such run.
        iban_pos = max(iban_searched_to, cluster.start() - _IBAN_LEAD)
        if iban_pos <= cluster.start():
            iban_searched_to = cluster.start() + 1
            for span in _find_ibans(text, iban_pos, cluster.start()):
                iban_searched_to = max(iban_searched_to, span.end)
                yield span


def _find_ibans(text: str, pos: int, last_start: int) -> Iterator[PiiSpan]:
    """IBANs starting in ``text[pos : last_start + 1]`` (they may run on past it)."""
    while (start := _IBAN_START.search(text, pos, last_start + 4)) is not None:
        m = _IBAN.match(text, start.start())
        span = _check_iban(m) if m is not None else None
        if span is None or _touches_placeholder(text, *span):
            pos = start.start() + 1
            continue
        yield PiiSpan(IBAN, *span)
        pos = span[1]


# --------------------------------------------------------------------------- IP addresses

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_PLACEHOLDER = "(?:" + "|".join(map(re.escape, _PLACEHOLDER_TEXTS)) + ")"
# The lookarounds reject versions and OIDs ("v1.2.3.4", "1.2.3.4.5") but accept
# a sentence-ending dot ("… is 10.0.0.1.").  A placeholder counts as the number
# it replaced, so "1.2.3.4.[id-number]" stays as it was.
_IPV4 = _compile(
    rf"""
    (?<![0-9A-Za-z]) (?<![0-9\]]\.)
    (?:{_OCTET}\.){{3}}{_OCTET}
    (?![0-9A-Za-z]|\.[0-9]|\.{_PLACEHOLDER})
    """
)
# A loose IPv6 candidate; the ipaddress module decides.  Never preceded by a
# letter or digit, so "std::vector" or "Foo::Bar" cannot start one.
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
    # "::1" and slices such as "x[1::2]" are valid addresses but not PII:
    # require two groups one of which is long, or four groups.
    groups = [g for g in _IPV6_SEPARATORS.split(candidate) if g]
    return len(groups) >= 4 or (len(groups) >= 2 and max(map(len, groups)) >= 3)


def _check_ipv6(m: re.Match[str]) -> Span | None:
    start, end = m.span()
    if _is_ipv6(m[0]):
        return start, end
    if m[0].endswith(":") and not m[0].endswith("::") and _is_ipv6(m[0][:-1]):
        return start, end - 1  # "fe80::1: next words"
    return None


# --------------------------------------------------------------------------- secrets

# Provider tokens with a recognisable prefix.  The lookbehind keeps words like
# "risk-…" or "ghost_…" from matching mid-word.
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

# A bare AWS secret access key: exactly 40 characters of base64 with upper- and
# lower-case letters and a digit (a commit hash is lower-case hex: never).
_AWS_SECRET = _compile(r"(?<![A-Za-z0-9/+=]) [A-Za-z0-9/+]{40,}+ (?![=])")


def _check_aws_secret(m: re.Match[str]) -> Span | None:
    value = m[0]
    if len(value) != 40 or not _has_upper_lower_digit(value):
        return None
    return m.span()


def _has_upper_lower_digit(value: str) -> bool:
    return (
        any(c.isdigit() for c in value)
        and any(c.isupper() for c in value)
        and any(c.islower() for c in value)
    )


# "the password is hunter2": only a value with a digit or a symbol, so "the
# password is in the vault" keeps its words.
_PROSE_PASSWORD = _compile(
    r"""
    \b(?i: passwords? | passwd | pwd | passcode | pin | secret | token | api\ key )
    \ (?i: is | was | will\ be )\ +
    (?P<v>[!-~]+)
    """
)
_TRAILING_PUNCTUATION = ".,;:)]}\"'"


def _check_prose_password(m: re.Match[str]) -> Span | None:
    if m["v"].startswith(_PLACEHOLDER_TEXTS):
        return None
    value = m["v"].rstrip(_TRAILING_PUNCTUATION)
    if not value or value.isalpha():
        return None
    return m.start("v"), m.start("v") + len(value)


# Command lines that take a password as a flag: mysql -p'…', sshpass -p ….
_PASSWORD_FLAG = _compile(
    r"""
    \b(?: mysql | mysqldump | mysqladmin | mariadb | sshpass ) \b [^\n]*? [ \t]-p[ \t]?
    (?: '(?P<sq>[^'\n]+)' | "(?P<dq>[^"\n]+)" | (?P<bare>[^\s'"]+) )
    """
)


def _check_password_flag(m: re.Match[str]) -> Span | None:
    group = next(name for name in ("sq", "dq", "bare") if m[name] is not None)
    return None if m[group].startswith(_PLACEHOLDER_TEXTS) else m.span(group)


# OpenAI-style keys, also Anthropic "sk-ant-…" and DeepSeek "sk-<hex>".
_SK_KEY = _compile(r"(?<![A-Za-z0-9_-]) sk-[A-Za-z0-9_-]{20,}")
_TOKEN_SEPARATORS = re.compile(r"[-_]")


def _looks_random(token: str) -> bool:
    """True for machine-made tokens, False for names like ``learn-docs-for-v2-users``."""
    has_digit = any(c.isdigit() for c in token)
    has_upper = any(c.isupper() for c in token)
    has_lower = any(c.islower() for c in token)
    if not has_digit or not (has_upper or has_lower):
        return False
    longest_segment = max(len(part) for part in _TOKEN_SEPARATORS.split(token))
    return longest_segment >= 16 or (has_upper and has_lower)


def _check_sk_key(m: re.Match[str]) -> Span | None:
    return m.span() if _looks_random(m[0][3:]) else None


# "Bearer <token>" anywhere (headers, curl commands); the word "Bearer" is kept.
_BEARER = _compile(r"\b(?i:bearer)[ \t]+(?P<v>[A-Za-z0-9._~+/=-]{8,})")
# "Authorization: <scheme> <credentials>": header and scheme names are kept.
_AUTHORIZATION = _compile(
    r"""
    \b(?i:authorization)["']?[ \t]*[:=][ \t]*["']?
    (?:(?i:bearer|basic|digest|token)[ \t]+)?
    (?P<v>[^\s"']+)
    """
)


def _check_bearer(m: re.Match[str]) -> Span | None:
    token = m["v"]
    if not any(c.isdigit() for c in token):
        return None  # "bearer instruments" is prose, not a token
    return m.span("v")


def _check_authorization(m: re.Match[str]) -> Span | None:
    return None if m["v"].startswith(_PLACEHOLDER_TEXTS) else m.span("v")


_PEM = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----"
    # A block without its END line (a truncated paste) is redacted to the end.
    r"(?:.*?-----END[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|.*)",
    re.DOTALL,
)

# key=value / key: value assignments; only the value is redacted.  The keyword
# may sit inside a longer name (DB_PASSWORD, x-api-key, csrftoken) but must end
# it, so "max_tokens=100" or "Secretary: Alice" are not assignments.
_SECRET_KEYWORD = r"""
    (?i: passw(?:or)?d | passphrase | passcode | pwd | secret | token | credentials?
       | api[_-]?key | access[_-]?key | private[_-]?key
       | (?<![A-Za-z]) (?: pass | pw | pin ) )  # short words: never the end of another
    (?i: [_.-]?(?:access[_-]?)?key )?
"""
_ASSIGNMENT = _compile(
    rf"""
    (?P<key> {_SECRET_KEYWORD} (?![A-Za-z0-9]) | 密码 | 口令 | 密钥 | 令牌 )
    ["']? [ \t]* (?P<sep> => | [:=：] | 是 | 为 ) [ \t]*
    (?: "(?P<dq>(?:[^"\\\n]|\\.)+)"?         # double-quoted, closing quote optional
      | '(?P<sq>(?:[^'\\\n]|\\.)+)'?         # single-quoted
      | (?P<bare>[!-~][^\s'"，。；！？、]*) )  # bare: up to whitespace or a quote
    """
)


def _check_assignment(m: re.Match[str]) -> Span | None:
    group = next(name for name in ("dq", "sq", "bare") if m[name] is not None)
    if m[group].startswith(_PLACEHOLDER_TEXTS):  # already redacted: keep redact() idempotent
        return None
    key = m["key"].lower()
    if key == "pin" and not (m[group].isdigit() and 4 <= len(m[group]) <= 8):
        return None  # "pin: 3.11" pins a version; a PIN is a few digits
    if key == "pass" and m[group].isalpha():
        return None  # "pass: ok", "pass: true"
    if group == "bare" and m["key"].lower().startswith("passphrase"):
        # "passphrase: correct horse battery staple" is several words.
        line_end = m.string.find("\n", m.end())
        return m.start(group), len(m.string) if line_end < 0 else line_end
    if group == "bare" and m["sep"] == "=" and "&" in m[group]:
        # token=xyz&page=2 is a query string: the value ends at '&'.  After ':'
        # ("password: Tr0ub4dor&3") the '&' is part of the password.
        return m.start(group), m.start(group) + m[group].index("&")
    return m.span(group)


# --------------------------------------------------------------------------- registry

# Each group of finders sits behind a gate: when the gate is false none of its
# patterns can match, so most messages skip most regexes.
_MAYBE_TOKEN = _compile(
    r"xox|xapp-|gh[pousr]_|github_pat_|A[KS]IA|ABIA|ACCA|AIza|_live_|_test_|eyJ"
).search
_MAYBE_AWS_SECRET = _compile(r"[A-Za-z0-9/+]{40}").search
_MAYBE_IPV4 = _compile(r"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]").search
_MAYBE_IPV6 = _compile(r":[0-9A-Fa-f]{0,4}:").search
# "pin" alone would wake the patterns for every "shipping" or "ping": only "pin:" / "pin=".
_ASSIGNMENT_WORDS = (
    "pass", "pw", "pin:", "pin=", "pin :", "pin：", "secret", "token", "key", "credential",
)  # fmt: skip
_PROSE_PASSWORD_WORDS = ("pass", "pwd", "pin ", "secret", "token", "api key")
_ASSIGNMENT_WORDS_ZH = ("密码", "口令", "密钥", "令牌")
_AUTHORIZATION_WORDS = ("earer", "EARER", "uthoriz", "UTHORIZ")


def _maybe_assignment(text: str) -> bool:
    lowered = text.lower()  # gate only: lower() may change lengths, so no offsets
    return any(w in lowered for w in _ASSIGNMENT_WORDS) or any(
        w in text for w in _ASSIGNMENT_WORDS_ZH
    )


def _maybe_prose_password(text: str) -> bool:
    if " is " not in text and " was " not in text and " will be " not in text:
        return False
    lowered = text.lower()
    return any(word in lowered for word in _PROSE_PASSWORD_WORDS)


def _maybe_ssn(text: str) -> bool:
    lowered = text.lower()
    return "ssn" in lowered or "social security" in lowered


def _maybe_passport(text: str) -> bool:
    return "护照" in text or "assport" in text or "ASSPORT" in text


def _maybe_authorization(text: str) -> bool:
    return any(word in text for word in _AUTHORIZATION_WORDS)


def _maybe_ipv4(text: str) -> bool:
    return text.count(".") >= 3 and _MAYBE_IPV4(text) is not None


def _always(text: str) -> bool:
    return True


Finder = Callable[[str], Iterable[PiiSpan]]

_REGISTRY: tuple[tuple[Callable[[str], object], tuple[Finder, ...]], ...] = (
    (lambda t: "://" in t and "@" in t, (_URL_CREDENTIALS_RULE,)),
    (lambda t: "-----BEGIN" in t, (_Rule(SECRET, _PEM),)),
    (_MAYBE_TOKEN, (_Rule(SECRET, _PREFIXED_TOKEN, word=True),)),
    (lambda t: "sk-" in t, (_Rule(SECRET, _SK_KEY, _check_sk_key, word=True),)),
    (
        _maybe_authorization,
        (
            _Rule(SECRET, _BEARER, _check_bearer, word=True),
            _Rule(SECRET, _AUTHORIZATION, _check_authorization),
        ),
    ),
    (
        _maybe_assignment,
        (_Rule(SECRET, _ASSIGNMENT, _check_assignment),),
    ),
    (_maybe_prose_password, (_Rule(SECRET, _PROSE_PASSWORD, _check_prose_password),)),
    (lambda t: "-p" in t, (_Rule(SECRET, _PASSWORD_FLAG, _check_password_flag),)),
    (_MAYBE_AWS_SECRET, (_Rule(SECRET, _AWS_SECRET, _check_aws_secret, word=True),)),
    (_maybe_ssn, (_Rule(SSN, _SSN_NAMED, _check_ssn_named),)),
    (_maybe_passport, (_Rule(PASSPORT, _PASSPORT, _check_passport, word=True),)),
    (_always, (_find_numbers,)),  # its cluster scan is its own gate
    (lambda t: "@" in t, (_EMAIL_RULE,)),
    (_maybe_ipv4, (_Rule(IP, _IPV4, word=True),)),
    (_MAYBE_IPV6, (_Rule(IP, _IPV6, _check_ipv6, word=True),)),
)

# Chinese input methods produce full-width digits and symbols ("１３８…", "＠").
# They are folded to ASCII one-for-one, so offsets stay valid.  Folding only
# happens when a full-width digit or '＠' is present: everyday full-width
# punctuation such as '，' or '：' alone does not pay for the translation.
_FULLWIDTH_TO_ASCII = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_HAS_FULLWIDTH_DIGIT = re.compile("[\uff10-\uff19\uff20]").search


# --------------------------------------------------------------------------- public API


def find_pii(text: str) -> list[PiiSpan]:
    """Return the PII spans of ``text``, sorted by start and never overlapping."""
    if not isinstance(text, str):
        raise TypeError(f"find_pii() expects str, not {type(text).__name__}")
    if _HAS_FULLWIDTH_DIGIT(text):
        text = text.translate(_FULLWIDTH_TO_ASCII)
    spans = [
        span for gate, finders in _REGISTRY if gate(text) for find in finders for span in find(text)
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
    """Union overlapping spans so that no fragment of any detection survives.

    The widest detection in a union names its kind: a PEM block that happens to
    contain a URL stays a secret, URL credentials whose password is a GitHub
    token stay URL credentials.
    """
    credentials = [s for s in spans if s.kind == URL_CREDENTIALS]
    if credentials:
        spans = [_clip_at_url_host(s, credentials) for s in spans]
    spans.sort(key=lambda s: (s.start, -s.end))
    merged: list[PiiSpan] = []
    widest: list[PiiSpan] = []  # the detection that names each merged span
    for span in spans:
        if merged and span.start < merged[-1].end:
            if _weight(span) > _weight(widest[-1]):
                widest[-1] = span
            merged[-1] = PiiSpan(widest[-1].kind, merged[-1].start, max(merged[-1].end, span.end))
        else:
            merged.append(span)
            widest.append(span)
    return merged


def _weight(span: PiiSpan) -> tuple[int, int]:
    return span.end - span.start, -_PRIORITY[span.kind]


def _clip_at_url_host(span: PiiSpan, credentials: list[PiiSpan]) -> PiiSpan:
    """Stop a span that starts inside URL credentials at their '@', keeping the host.

    In "https://user:pa@ss@host.com" the tail "ss@host.com" also reads as an
    e-mail, and in "https://x-access-token:ghp_…@github.com/org" the text after
    "token:" reads as a secret value; the host is neither.  Spans that start
    before the credentials (a PEM block, a quoted value) are left whole.
    """
    for cred in credentials:
        if cred.start <= span.start < cred.end < span.end:
            span = PiiSpan(span.kind, span.start, cred.end)
    return span


def _replace(text: str, spans: list[PiiSpan]) -> str:
    parts: list[str] = []
    pos = 0
    for span in spans:
        parts.append(text[pos : span.start])
        parts.append(PLACEHOLDERS[span.kind])
        pos = span.end
    parts.append(text[pos:])
    return "".join(parts)
