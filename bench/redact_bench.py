"""Accuracy and throughput of bot.redact.

    python bench/redact_bench.py [--messages 20000] [--pii-share 0.10] [--repeat 5]

Accuracy: bench/redaction_corpus.jsonl holds hand-written sentences (English,
Chinese, mixed), each with the PII it contains, labelled by kind; about a third
hold none and must come out unchanged (order numbers, dates, versions, commit
hashes…).  Per kind it prints precision (detections of that kind that overlap a
labelled span of that kind) and recall (labelled spans wholly covered by
detections of their kind), and lists every miss and false alarm by line number.

Builds, in memory and from a fixed seed, a corpus of mixed English/Chinese chat
messages of about 150 characters.  About 10% carry PII (phones, e-mails, IDs,
cards, IPs, tokens, credentials); the rest are ordinary chatter that is full of
near-misses: versions, dates, times, prices, ticket numbers.

It reports messages per second and microseconds per message for redact(), and
the ratio against a baseline measured in the same run over the same corpus: one
trivial precompiled ``re.search`` per message.  Timings are the best of
``--repeat`` rounds.  Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import string
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a plain checkout too

from bot.redact import find_pii, redact  # noqa: E402

TARGET_LENGTH = 150

ENGLISH = [
    "Morning all, standup moves to 10:30 today.",
    "I pushed the fix for JIRA-{ticket}, can someone review?",
    "We upgraded to Python 3.11.7 and the flaky test is gone.",
    "The invoice came to ${price} including tax.",
    "Deploy window is {date} at {time}, please don't merge after that.",
    "Can we move the retro to Thursday?",
    "The dashboard shows p95 latency at {n}ms, up from last week.",
    "Thanks! That worked on my machine too.",
    "Release v{version} is tagged, changelog is in the wiki.",
    "Who owns the billing service alerts this week?",
    "Heads up: the staging database restarts at {time}.",
    "I'll be out on {date}, ping Li Wei if anything breaks.",
    "We're at {n} open bugs, down from {n2} last sprint.",
    "Could you share the design doc before the sync?",
    "Budget for Q{q} is {price} per seat.",
    "The build takes {n} seconds now, nice work.",
    "Order #{ticket} shipped yesterday.",
]
CHINESE = [
    "大家早上好，今天的站会改到十点半。",
    "我已经修复了 JIRA-{ticket}，麻烦帮忙看一下。",
    "我们升级到了 Python 3.11.7，那个不稳定的测试好了。",
    "这张发票一共 {price} 元，含税。",
    "发布窗口是 {date} {time}，之后请不要合并代码。",
    "回顾会可以改到周四吗？",
    "监控显示 p95 延迟是 {n} 毫秒，比上周高。",
    "谢谢！我这边也可以了。",
    "版本 v{version} 已经打了标签，更新日志在 wiki 里。",
    "这周谁负责账单服务的告警？",
    "提醒一下：预发数据库会在 {time} 重启。",
    "我 {date} 请假，有问题找李伟。",
    "现在还有 {n} 个未关闭的 bug，上个迭代是 {n2} 个。",
    "同步会之前能把设计文档发一下吗？",
    "第 {q} 季度的预算是每人 {price} 元。",
]


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        ticket=rng.randint(100, 99999),
        price=f"{rng.randint(10, 9999)}.{rng.randint(0, 99):02d}",
        date=f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        time=f"{rng.randint(0, 23):02d}:{rng.choice(['00', '15', '30', '45'])}",
        n=rng.randint(1, 900),
        n2=rng.randint(1, 900),
        version=f"{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 30)}",
        q=rng.randint(1, 4),
    )


# --------------------------------------------------------------------------- PII generators


def _luhn_complete(payload: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return payload + str((10 - total % 10) % 10)


def _chinese_id(rng: random.Random) -> str:
    first17 = (
        f"{rng.randint(110000, 659999)}"
        f"{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        f"{rng.randint(0, 999):03d}"
    )
    weights = [pow(2, 17 - k, 11) for k in range(17)]
    value = (12 - sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11) % 11
    return first17 + ("X" if value == 10 else str(value))


def _token(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


EMAIL_DOMAINS = ["example.com", "corp.cn", "mail.io"]
PII: list[Callable[[random.Random], str]] = [
    lambda r: f"1{r.choice('3456789')}{r.randint(0, 9)}{r.randint(10000000, 99999999)}",
    lambda r: f"+86 13{r.randint(0, 9)} {r.randint(1000, 9999)} {r.randint(1000, 9999)}",
    lambda r: f"({r.randint(200, 999)}) {r.randint(200, 999)}-{r.randint(1000, 9999)}",
    lambda r: f"+44 20 {r.randint(1000, 9999)} {r.randint(1000, 9999)}",
    lambda r: f"010-{r.randint(20000000, 89999999)}",
    lambda r: f"{_token(r, 8, string.ascii_lowercase)}@{r.choice(EMAIL_DOMAINS)}",
    _chinese_id,
    lambda r: _luhn_complete("4" + "".join(str(r.randint(0, 9)) for _ in range(14))),
    lambda r: " ".join(re.findall("....", _luhn_complete("62" + _token(r, 13, string.digits)))),
    lambda r: f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
    lambda r: f"2001:db8::{r.randint(1, 0xFFFF):x}",
    lambda r: "sk-proj-" + _token(r, 40),
    lambda r: "xoxb-" + _token(r, 12, string.digits) + "-" + _token(r, 24),
    lambda r: "ghp_" + _token(r, 36),
    lambda r: f"password={_token(r, 10)}",
    lambda r: f"https://deploy:{_token(r, 12)}@git.example.com/app.git",
    lambda r: "Authorization: Bearer " + _token(r, 32),
]
PII_LEADS = ["联系我：", "my number is ", "邮箱 ", "卡号 ", "ssh to ", "use ", "token: ", "见 "]


def _message(rng: random.Random, with_pii: bool) -> str:
    pool = rng.choice([ENGLISH, CHINESE, ENGLISH + CHINESE])
    parts: list[str] = []
    if with_pii:
        parts.append(rng.choice(PII_LEADS) + rng.choice(PII)(rng))
    # Whole sentences only (a cut could split the PII), stopping near the target.
    while sum(len(p) + 1 for p in parts) < TARGET_LENGTH - 25:
        parts.insert(rng.randrange(len(parts) + 1), _fill(rng.choice(pool), rng))
    return " ".join(parts)


def build_corpus(size: int, pii_share: float, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [_message(rng, rng.random() < pii_share) for _ in range(size)]


# --------------------------------------------------------------------------- accuracy

CORPUS = Path(__file__).with_name("redaction_corpus.jsonl")


@dataclass
class Tally:
    labelled: int = 0
    found: int = 0  # labelled spans wholly covered by detections of their kind
    detected: int = 0
    correct: int = 0  # detections overlapping a labelled span of their kind

    @property
    def precision(self) -> float:
        return self.correct / self.detected if self.detected else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.labelled if self.labelled else 1.0


def _labelled_spans(text: str, pii: list[dict[str, str]]) -> list[tuple[str, int, int]]:
    spans: list[tuple[str, int, int]] = []
    for item in pii:
        start = text.find(item["text"])
        while any(start == b for _, b, _ in spans):  # the same value twice: the next one
            start = text.find(item["text"], start + 1)
        if start < 0:
            raise ValueError(f"corpus value not in its sentence: {item['kind']}")
        spans.append((item["kind"], start, start + len(item["text"])))
    return spans


def accuracy(path: Path) -> tuple[dict[str, Tally], list[str], int]:
    """Per-kind tallies, the lines that went wrong, and the number of sentences."""
    tallies: dict[str, Tally] = {}
    problems: list[str] = []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    for number, row in enumerate(rows, start=1):
        text = row["text"]
        gold = _labelled_spans(text, row["pii"])
        found = find_pii(text)
        for kind, start, end in gold:
            tally = tallies.setdefault(kind, Tally())
            tally.labelled += 1
            covered = [s for s in found if s.kind == kind and s.start < end and start < s.end]
            position = start
            for s in sorted(covered, key=lambda s: s.start):
                if s.start <= position:
                    position = max(position, s.end)
            if position >= end:
                tally.found += 1
            else:
                problems.append(f"line {number}: missed {kind}: {text[start:end]!r}")
        for s in found:
            tally = tallies.setdefault(s.kind, Tally())
            tally.detected += 1
            if any(k == s.kind and s.start < e and b < s.end for k, b, e in gold):
                tally.correct += 1
            else:
                problems.append(f"line {number}: false {s.kind}: {text[s.start : s.end]!r}")
    return tallies, problems, len(rows)


def print_accuracy(path: Path, verbose: bool) -> None:
    tallies, problems, rows = accuracy(path)
    print(f"accuracy    {path.name}: {rows} sentences")
    print(f"  {'kind':<16}{'labelled':>9}{'detected':>9}{'precision':>11}{'recall':>8}")
    for kind in sorted(tallies):
        t = tallies[kind]
        print(f"  {kind:<16}{t.labelled:>9}{t.detected:>9}{t.precision:>11.3f}{t.recall:>8.3f}")
    worst = min(min(t.precision, t.recall) for t in tallies.values())
    print(f"  lowest per-kind precision or recall: {worst:.3f}")
    if verbose:
        for problem in problems:
            print("  " + problem)
    elif problems:
        print(f"  {len(problems)} misses or false alarms (--verbose lists them)")


# --------------------------------------------------------------------------- timing


def best_of(repeat: int, fn: Callable[[str], object], corpus: list[str]) -> float:
    """Best wall time in seconds of one pass of ``fn`` over ``corpus``."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for message in corpus:
            fn(message)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--pii-share", type=float, default=0.10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--verbose", action="store_true", help="list every miss and false alarm")
    args = parser.parse_args()

    print_accuracy(args.corpus, args.verbose)
    labelled = [json.loads(line)["text"] for line in args.corpus.read_text().splitlines() if line]

    corpus = build_corpus(args.messages, args.pii_share, args.seed)
    with_pii = [m for m in corpus if find_pii(m)]
    clean = [m for m in corpus if not find_pii(m)]
    baseline = re.compile(r"[0-9]{3}").search

    for message in corpus[:2000]:  # warm up caches before timing anything
        redact(message)

    t_baseline = best_of(args.repeat, baseline, corpus)
    t_redact = best_of(args.repeat, redact, corpus)
    t_clean = best_of(args.repeat, redact, clean) if clean else 0.0
    t_pii = best_of(args.repeat, redact, with_pii) if with_pii else 0.0

    n = len(corpus)
    avg_len = sum(map(len, corpus)) / n
    print(f"corpus      {n} messages, {avg_len:.0f} chars on average, "
          f"{len(with_pii)} ({len(with_pii) / n:.1%}) with PII")  # fmt: skip
    print(f"baseline    {n / t_baseline:10,.0f} messages/s  {t_baseline / n * 1e6:7.2f} µs/message"
          "  (one re.search(r'[0-9]{3}') per message)")  # fmt: skip
    print(f"redact()    {n / t_redact:10,.0f} messages/s  {t_redact / n * 1e6:7.2f} µs/message")
    if clean:
        print(f"  no PII    {len(clean) / t_clean:10,.0f} messages/s  "
              f"{t_clean / len(clean) * 1e6:7.2f} µs/message")  # fmt: skip
    if with_pii:
        print(f"  with PII  {len(with_pii) / t_pii:10,.0f} messages/s  "
              f"{t_pii / len(with_pii) * 1e6:7.2f} µs/message")  # fmt: skip
    print(f"ratio       redact() / baseline = {t_redact / t_baseline:.1f}x")
    t_labelled = best_of(args.repeat, redact, labelled)
    print(f"labelled    {len(labelled) / t_labelled:10,.0f} messages/s  "
          f"{t_labelled / len(labelled) * 1e6:7.2f} µs/message  (the accuracy corpus)")  # fmt: skip


if __name__ == "__main__":
    main()
