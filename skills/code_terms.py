"""What code looks like inside a sentence, and the checks a review standard can turn into.

A review comment names code: backticked fragments, dotted calls (`console.log`, `pd.read_sql`),
calls (`print()`), operators (`!!`, `try!`, `SELECT *`) and the keywords, builtins and types of
common languages. Some standards name no code but a property a linter knows ("public functions
need type hints", "secrets never in the repo"); those map to a small set of checks, described
in English and Chinese.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# Keywords, builtins and types of Python, SQL, JS/TS, Kotlin, Swift, Java and Go that name code
# even in plain text (lower-case, whole words). Words that are ordinary English too ("set",
# "now", "select", "open") count only in backticks or in code shape (`open()`, `a.set`).
VOCABULARY = frozenset(
    """
    float decimal int str bool dict tuple bytes var const println
    printf print lambda nonlocal except exception nullptr null nil undefined
    nolock innerhtml settimeout setinterval localstorage globalscope runblocking lateinit utcnow
    subprocess pickle iterrows
    topandas read_sql to_sql goroutine mutex unwrap datetime kwargs args varchar bigint
    """.split()  # noqa: SIM905 - a word list reads better as words
)
_ANY_TYPE = re.compile(
    r"\bany\b(?=\s+(?:type|types|类型))|(?<=type )any\b|(?<=类型)\s*any\b|:\s*any\b|"
    r"(?<=using )any\b|(?<=as )any\b|(?:看到|标成|写成|用了?)\s*any\b",
    re.I,
)
_BACKTICK = re.compile(r"`([^`\n]{1,80})`")
_DOTTED = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?:\(\))?)")
_CALL = re.compile(r"(?<![\w.])([A-Za-z_]\w*\(\))")
_OPERATORS = re.compile(r"(!!|\btry!|\bas!|\?\.|===|\bselect\s+\*)", re.I)
_WORD = re.compile(r"(?<![\w.])([A-Za-z_][\w]*)(?![\w(])")
_CAMEL = re.compile(r"(?<![\w.])([A-Z][a-z]+[A-Z]\w*|[a-z]+[A-Z][A-Za-z0-9]*)(?![\w])")
_METHOD = re.compile(r"(?<![\w])\.([A-Za-z_]\w*\(\))")  # ".item()" said of any object
_SQL = {"select", "insert", "update", "delete", "join", "where", "limit", "truncate", "drop"}
_TYPES = {"any": r"(?::\s*|<\s*|\bas\s+)any\b", "unknown": r"(?::\s*|<\s*|\bas\s+)unknown\b"}


# Ordinary English words that name code in a remark known to be a code review.
REVIEW_VOCABULARY = frozenset(
    """
    requests select update delete open set commit cursor fetch collect cache merge sleep import
    global yield pass catch throw raise try let object limit join assert exec async await
    logger logging print timeout retry double
    """.split()  # noqa: SIM905 - a word list reads better as words
)


def anchors(text: str, *, in_review: bool = False) -> list[str]:
    """The code a sentence names, normalized (lower-case, no backticks), in reading order.

    `in_review`: the remark is known to be about code (it names a PR), so words that are also
    ordinary English ("requests", "select") count as code too.
    """
    words = VOCABULARY | REVIEW_VOCABULARY if in_review else VOCABULARY
    found: list[str] = []
    fragments = _BACKTICK.findall(text)
    for fragment in fragments:
        found.append(fragment.strip())
    # What a quoted line names counts too: `catch (Exception e)` names catch and Exception.
    plain = _BACKTICK.sub(" ", text) + " " + " ".join(fragments)
    for pattern in (_OPERATORS, _DOTTED, _CALL, _CAMEL, _METHOD):
        found.extend(m.group(1) for m in pattern.finditer(plain))
    # `loss.item()` and ".item()" name one call: the method counts on its own too.
    found.extend(m.group(1) for m in re.finditer(r"\.([A-Za-z_]\w*\(\))", plain))
    # A keyword that is part of an operator said in the sentence ("SELECT *" → select) is no
    # anchor of its own; inside quoted code it is (`props: any` names any).
    sentence = _BACKTICK.sub(" ", text)
    spoken = {t for m in _OPERATORS.finditer(sentence) for t in normalize(m.group(1)).split()}
    for m in _WORD.finditer(plain):
        word = m.group(1).lower()
        inside = m.start() >= len(sentence)
        if word in words and (inside or word not in spoken):
            found.append(m.group(1))
    if _ANY_TYPE.search(plain):
        found.append("any")
    out: list[str] = []
    for a in found:
        norm = normalize(a)
        if norm and norm not in out:
            out.append(norm)
    return out


def normalize(anchor: str) -> str:
    a = " ".join(anchor.strip().strip("`").split())
    a = re.sub(r"^select\s+\*.*$", "select *", a, flags=re.I)
    return a.lower() if len(a) <= 60 else ""


def pattern_for(anchor: str) -> str | None:
    """A regex that finds the named code on a line, or None when it names nothing findable."""
    a = anchor.strip()
    if not a or len(a) < 2 and a not in ("*",):
        return None
    if a in _TYPES:
        return _TYPES[a]
    if a == "select *":
        return r"(?i)\bselect\s+\*"
    if a.split()[0] in _SQL and len(a.split()) == 1:
        return rf"(?i)\b{a}\b"
    if a.endswith("()"):
        return rf"(?<!\w){re.escape(a[:-2])}\s*\("  # `collect()` is `df.collect()` too
    if re.fullmatch(r"[\w.]+", a):
        return rf"(?i)(?<![\w]){re.escape(a)}(?![\w])"
    body = re.escape(a)
    body = body.replace(r"\ ", r"\s+")
    start = r"(?<![\w])" if a[:1].isalnum() or a[:1] == "_" else ""
    end = r"(?![\w])" if a[-1:].isalnum() or a[-1:] == "_" else ""
    return f"(?i){start}{body}{end}"


def call_pattern(anchor: str) -> str | None:
    """A regex for a call of the named code (`requests` → `requests.get(`, `requests(`)."""
    name = anchor.strip().removesuffix("()")
    if not re.fullmatch(r"[A-Za-z_][\w.]*", name):
        return None
    return rf"(?<![\w.]){re.escape(name)}(?:\.\w+)*\s*\("


@dataclass(frozen=True, slots=True)
class Check:
    """A property a standard names without naming code, and how to find it on a line."""

    name: str
    describes: re.Pattern[str]
    finds: Callable[[str], bool]  # does this code line break it?
    unless_snippet: str = ""  # nothing is broken when the snippet has this (e.g. a test)
    language: str = ""  # only snippets in this language (see language_of) can break it
    multiline: bool = False  # finds() reads the whole statement that starts on the line


def _regex(pattern: str) -> Callable[[str], bool]:
    compiled = re.compile(pattern)
    return lambda line: bool(compiled.search(line))


_DEF = re.compile(
    r"^\s*(?:async\s+)?def\s+(?P<name>[A-Za-z]\w*)\s*\((?P<params>.*)\)\s*(?P<ret>->)?"
)


def _effect_without_deps(statement: str) -> bool:
    """`useEffect(() => { … })` whose call ends without a dependency array."""
    if not re.match(r"\s*(?:React\.)?use(?:Layout)?Effect\s*\(", statement):
        return False
    return re.search(r",\s*\[[^\]]*\]\s*\)\s*;?\s*$", statement.strip()) is None


def _unquoted_variable(line: str) -> bool:
    """A shell line that uses `$x` / `${x}` outside double quotes (not in an assignment)."""
    if re.match(r"^\s*(?:#|\w+=\S*$)", line):
        return False
    for match in re.finditer(r"\$\{?[A-Za-z_]\w*", line):
        before = line[: match.start()]
        if before.count('"') % 2 == 0 and before.count("'") % 2 == 0:
            return True
    return False


_SET_CALL = re.compile(r"\.(?P<name>set|Set|setex|put)\s*\(")


def _arguments(line: str, start: int) -> list[str]:
    """The top-level arguments of the call whose "(" is at `start`."""
    depth, args, current = 0, [], ""
    for ch in line[start:]:
        if ch in "([{":
            depth += 1
            if depth == 1:
                continue
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                args.append(current.strip())
                return [a for a in args if a]
        elif ch == "," and depth == 1:
            args.append(current.strip())
            current = ""
            continue
        current += ch
    return []


def _cache_set_without_ttl(line: str) -> bool:
    """`cache.set(key, value)` (no expiry) or Go's `rdb.Set(ctx, key, val, 0)`."""
    for match in _SET_CALL.finditer(line):
        args = _arguments(line, match.end() - 1)
        if match["name"] == "set" and len(args) == 2:
            return True
        if match["name"] == "Set" and len(args) == 4 and args[3] == "0":
            return True
    return bool(re.search(r"^\s*SET\s+\S+\s+\S+\s*$", line))


_LOGS_PERSONAL = re.compile(
    r"(?i)(?:\blog\w*\.\w+|\blogger\.\w+|console\.log|\bprint\w*|System\.out\.\w+|"
    r"\bthrow\s+\w+|\braise\s+\w+)\s*\(.*\b\w*(?:card|pan|cvv|email|phone|mobile|"
    r"password|passwd|token|ssn|idcard)\w*"
)
# A value passed through a masking call, or a name that says it is masked, is what the
# standard asks for: `mask_phone(phone)`, `r["phone_masked"]`, `hash(email)`.
_MASKED = re.compile(
    r"(?i)\b\w*(?:mask|redact|hash|anonymi[sz]e|obfuscate|desensiti[sz]e|tuomin)\w*\s*\([^()]*\)|"
    r"\b\w*(?:mask|redact|hash|last4|anonymi[sz]ed|脱敏)\w*"
)


def _logs_personal_data(line: str) -> bool:
    return _LOGS_PERSONAL.search(line) is not None


_FLOATISH = re.compile(
    r"(?i)\bfloat(?:32|64)?\b|\bdouble\b|\bparseFloat\(|\.toFixed\(|\bf(?:32|64)\b|"
    r"\bREAL\b|\bNUMERIC_FLOAT\b"
)
_MONEY = re.compile(
    r"(?i)(?:amount|price|total|cost|fee|balance|refund|payment|charge|subtotal|tax|discount|"
    r"currency|money|cents|revenue|salary|invoice|paid|金额|价格|费用|余额)"
)


def _money_as_float(line: str) -> bool:
    """A money value handled as a float: `amount: float`, `float(row["price"])`."""
    return bool(_FLOATISH.search(line) and _MONEY.search(line))


def _untyped_public_def(line: str) -> bool:
    match = _DEF.match(line)
    if not match:
        return False
    params = [p.strip() for p in match["params"].split(",")]
    params = [p for p in params if p and p.lstrip("*") not in ("self", "cls", "") and p != "/"]
    return match["ret"] is None or any(":" not in p.split("=")[0] for p in params)


CHECKS = (
    Check(
        "type-hints",
        re.compile(
            r"type (?:hints?|annotations?)|annotat|typed signature|return type|类型(?:注解|"
            r"标注|提示)",
            re.I,
        ),
        _untyped_public_def,
    ),
    Check(
        "hard-coded-secret",
        re.compile(
            r"(hard[- ]?coded|in (?:the )?(?:repo|code|source)|commit(?:ted)?|plain ?text|硬编码|"
            r"写死|明文|提交到)"
            r".{0,40}(secret|password|token|key|credential|密码|密钥|秘钥|token|连接串|凭证|凭据)"
            r"|(secret|password|token|api key|credential|密码|密钥|秘钥|连接串|凭证|凭据).{0,60}"
            r"(hard[- ]?coded|in (?:the )?(?:repo|code)|vault|env|environment|硬编码|写死|"
            r"明文|配置中心|环境变量)",
            re.I,
        ),
        _regex(
            r"(?i)(password|passwd|pwd|secret|token|api_?key|apikey|access_?key|private_?key|"
            r"密码)\w*[\"']?\s*[:=]\s*[\"'][^\"'\s]{3,}[\"']|://[^/\s:@]+:[^/\s@]+@"
        ),
    ),
    Check(
        "hard-coded-url",
        re.compile(
            r"(hard[- ]?coded|写死|硬编码).{0,30}(url|endpoint|host|domain|base ?url|地址|"
            r"域名|bucket|path|路径)"
            r"|(url|endpoint|host|base ?url|地址|域名).{0,30}(hard[- ]?coded|写死|硬编码|"
            r"config|配置)",
            re.I,
        ),
        _regex(r"[\"'](?:https?|s3a?|gs|hdfs|oss|abfss?)://[^\"']+[\"']"),
    ),
    Check(
        "sql-string-building",
        re.compile(
            r"f-?strings?.{0,30}sql|sql.{0,30}(f-?string|format|concat|拼接)|parameteri[sz]ed|"
            r"placeholders?|"
            r"bind (?:params|variables)|injection|拼(?:接|进)?\s*sql|sql\s*拼接|拼接|参数化|"
            r"参数绑定|注入|"
            r"预编译",
            re.I,
        ),
        _regex(
            r"(?i)\bf[\"'][^\"]*\b(select|insert|update|delete|where)\b[^\"]*\{|"
            r"\"[^\"]*\b(select|insert|update|delete|where|from|order by)\b[^\"]*\"\s*(%|\+|"
            r"\.format\()|"
            r"'[^']*\b(select|insert|update|delete|where)\b[^']*'\s*(%|\+|\.format\()|"
            r"\$\{\w+\}"  # MyBatis ${…} pastes the value into the SQL
        ),
    ),
    Check(
        "personal-data-in-logs",
        re.compile(
            r"\b(?:log|logs|logged|logging|print|prints|stdout|exception message)\b.{0,60}"
            r"\b(?:pii|pan|cvv|card ?numbers?|emails?|phone|passwords?|tokens?|personal)\b|"
            r"\b(?:pii|pan|cvv|card ?numbers?|emails?|phone numbers?)\b.{0,40}\b(?:log|logs|"
            r"logged)\b|"
            r"(?:日志|打印|打出来).{0,20}(?:手机号|身份证|密码|token|卡号|邮箱)|"
            r"(?:手机号|身份证|密码|卡号|邮箱).{0,20}(?:日志|打印|打出来)",
            re.I,
        ),
        lambda line: _logs_personal_data(_MASKED.sub(" ", line)),
    ),
    Check(
        "ignored-error",
        re.compile(
            r"discard(?:ed|ing|s)? (?:the )?errors?|ignor\w* (?:the )?errors?|"
            r"swallows? (?:the )?err|"
            r"check (?:the )?err|忽略(?:了)?错误|吞掉?(?:了)?错误|错误没处理|err 没处理",
            re.I,
        ),
        _regex(r"^\s*_\s*(?:,\s*_\s*)?=\s*[\w.]+(?:\.\w+)*\("),
    ),
    Check(
        "money-as-float",
        re.compile(
            r"(?:money|currency|monetary|prices?|amounts?|cents|金额|价格|钱|货币|资金).{0,60}"
            r"(?:decimal|float|double|bigdecimal|浮点|精度)|(?:decimal|float|double|bigdecimal|"
            r"浮点).{0,60}(?:money|currency|monetary|prices?|amounts?|cents|金额|价格|钱|货币)",
            re.I,
        ),
        _money_as_float,
    ),
    Check(
        "cache-without-ttl",
        re.compile(r"\bttl\b|expir\w*|过期时间|过期|超时时间", re.I),
        lambda line: _cache_set_without_ttl(line),
    ),
    Check(
        "bare-except",
        re.compile(r"bare except|catch[- ]all|swallow|吞(?:掉)?异常|裸\s*except|空\s*except", re.I),
        _regex(r"^\s*except\s*(?:(?:Base)?Exception\s*(?:as\s+\w+)?)?\s*:"),
    ),
    Check(
        "unquoted-shell-variable",
        re.compile(r"\bquote|unquoted|引号", re.I),
        lambda line: _unquoted_variable(line),
        language="shell",
    ),
    Check(
        "partition-filter",
        re.compile(
            r"分区|partition(?:ed)?\b|\bdt (?:条件|范围|filter|predicate)|(?:without|没有|"
            r"不带)\s*dt\b",
            re.I,
        ),
        _regex(r"(?i)\bfrom\s+[\w.]+"),
        unless_snippet=r"(?i)\b(?:dt|ds|pt|partition_date|p_date)\s*(?:=|>|<|between|in\b)",
        language="sql",
    ),
    Check(
        "effect-without-deps",
        re.compile(r"依赖数组|依赖列表|dependency (?:array|list)|deps array|第二个参数", re.I),
        lambda statement: _effect_without_deps(statement),
        multiline=True,
    ),
    Check(
        "division-by-zero",
        re.compile(r"除零|除以零|divi(?:de|sion) by zero|nullif|safe[_ ]divide", re.I),
        _regex(r"(?i)(?<![/*-])/\s*(?!nullif\b)(?:sum|count|avg)?\(?\s*[a-z_]\w*(?![\w(])"),
        unless_snippet=r"(?i)\bnullif\s*\(|safe_divide|\bcase\s+when\b[^\n]*\b0\b|\.replace\(\s*0\s*,",
        language="sql",
    ),
    Check(
        "error-path-test",
        re.compile(
            r"tests? (?:for|covering) (?:the )?(?:error|failure|exception|unhappy|sad)|error path|"
            r"(?:异常|失败|错误)(?:分支|路径|场景).{0,6}测试|补.{0,6}(?:异常|失败).{0,4}测试",
            re.I,
        ),
        _regex(r"^\s*(raise\b|except\b|catch\s*\(|throw\b)"),
        unless_snippet=r"\bdef test_|pytest\.raises|assertRaises|@Test\b|\bit\(|\bdescribe\(",
    ),
    Check(
        "force-unwrap",
        re.compile(r"force[- ]?unwrap|强制解包|强解", re.I),
        _regex(r"\w[)\]]?!(?![=!])(?=[.\s,)\]]|$)|\btry!|\bas!"),
    ),
)


def checks_described(text: str) -> list[Check]:
    return [c for c in CHECKS if c.describes.search(text)]


def checks_shown(fragments: list[str]) -> list[Check]:
    """The checks a quoted line of code breaks: the code the comment discusses says which."""
    return [
        c
        for c in CHECKS
        if not c.unless_snippet
        and c.name not in _CONTEXT_ONLY
        and any(c.finds(f) for f in fragments)
    ]


# A quoted `def f(x):` is usually the context of a remark, not what it is about.
_CONTEXT_ONLY = frozenset({"type-hints"})


_FILE_LANG = {
    "sh": "shell", "bash": "shell", "py": "python", "go": "go", "tf": "terraform",
    "java": "java", "kt": "kotlin", "swift": "swift", "ts": "typescript", "js": "typescript",
    "sql": "sql",
}  # fmt: skip
_MENTIONED = re.compile(
    r"\.(sh|bash|py|go|tf|java|kt|swift|ts|js|sql)\b|\b(bash|shell|python|golang|terraform|java|"
    r"kotlin|swift|typescript|javascript|sql)\b",
    re.I,
)
_CODE_LANG = (
    (
        "shell",
        re.compile(
            r"^#!.*\b(?:ba)?sh\b|^\s*(?:for .+; do|done$|fi$|then$|echo |export |set -)", re.M
        ),
    ),
    ("terraform", re.compile(r'^\s*(?:resource|provider|variable|module|data) "', re.M)),
    ("go", re.compile(r"^\s*(?:func |package \w+)|:= ", re.M)),
    ("python", re.compile(r"^\s*(?:def \w+\(|import \w+|from [\w.]+ import|class \w+[(:])", re.M)),
    ("kotlin", re.compile(r"\bfun \w+\(|\bval \w+\s*[:=]|\?\.let\b")),
    ("swift", re.compile(r"\bfunc \w+\(|\bguard let\b|\bimport (?:UIKit|SwiftUI|Foundation)\b")),
    ("java", re.compile(r"\b(?:public|private|protected) (?:static )?[\w<>\[\]]+ \w+\(|@\w+\b")),
    (
        "typescript",
        re.compile(r"\b(?:const|let) \w+(?:: \w+)? = |=> |\bfunction \w+\(|\binterface \w+ \{"),
    ),
    ("sql", re.compile(r"^\s*(?:SELECT|INSERT|UPDATE|DELETE|CREATE|WITH)\b", re.M | re.I)),
)


def language_named(text: str) -> str:
    """The language a comment's words or file names point at ("drain.sh" → shell), or ""."""
    match = _MENTIONED.search(text)
    if not match:
        return ""
    word = (match.group(1) or match.group(2)).lower()
    return _FILE_LANG.get(word) or {"golang": "go", "javascript": "typescript"}.get(word, word)


def language_of(code: str) -> str:
    """The language a snippet looks written in, or ""."""
    for name, pattern in _CODE_LANG:
        if pattern.search(code):
            return name
    return ""
