"""The demo workspace seeded on a first start: made-up people and a few weeks of team chat.

Everything goes through the console platform and the bus like real traffic, so the demo
shows the consent rules at work: carol never opts in, and nothing she writes is kept.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog

from adapters.console.adapter import ConsoleAdapter
from adapters.console.normalize import Click, PostedMessage
from bot.services import Services

log = structlog.get_logger(__name__)

CONSENTING = ("alice", "bob", "dave")

# (weekday 0=Mon, hour, author, text) for each of the last weeks; {week} is the ISO week.
_WEEK = [
    (
        0,
        9,
        "alice",
        "Standup notes {date}\nYesterday: finished the invoice CSV export.\n"
        "Today: pairing with bob on the tax rounding bug.\nBlockers: none.",
    ),
    (0, 10, "carol", "Does anyone know when the office wifi gets fixed?"),
    (
        1,
        11,
        "bob",
        "Review on PR #{pr}: please use Decimal for money, not float — float "
        "rounding breaks invoice totals.",
    ),
    (1, 15, "dave", "Review on PR #{pr2}: no print() in production code, use the logger."),
    (
        2,
        10,
        "alice",
        "Planning meeting {date}\nAgenda: Q4 roadmap, on-call rota.\n"
        "Decision: we ship the billing v2 API before the mobile work.\n"
        "Action: bob to draft the migration plan by Friday.\n"
        "Action: write the customer announcement.\n"
        "Question: do we keep the legacy XML export?",
    ),
    (
        2,
        16,
        "bob",
        "Review on PR #{pr3}: add a test for the error path, the happy path alone is not enough.",
    ),
    (
        2,
        11,
        "bob",
        "Standup notes {date}\nYesterday: drafted the billing v2 migration plan.\n"
        "Today: currency conversion service, rate caching.\nBlockers: none.",
    ),
    (2, 12, "carol", "carol-private-musing: the espresso machine on floor 3 is broken again"),
    (
        3,
        9,
        "dave",
        "Standup notes {date}\nYesterday: fixed the flaky staging deploy job.\n"
        "Today: alerting for queue lag.\nBlockers: need access to the prod metrics dashboard.",
    ),
    (
        3,
        11,
        "dave",
        "Incident review {date}\nSummary: payment queue lag for 20 minutes.\n"
        "Decision: alert when queue lag passes 5 minutes.\n"
        "Action: dave to write the payment queue runbook by next Friday.\n"
        "Action: check the retry settings of the consumer.\n"
        "Question: should staging page the on-call too?",
    ),
    (3, 14, "carol", "Lunch order is in, reply with your choice by noon."),
    (
        3,
        15,
        "alice",
        "Shipped the invoice CSV export to production, customers can download it now.",
    ),
    (3, 17, "dave", "Heads-up: deploy of billing-api to staging is done, smoke tests green."),
    (
        4,
        16,
        "alice",
        "Weekly report {week}\n*Done*\n- Invoice CSV export shipped\n"
        "- Fixed tax rounding in the invoice totals\n*In progress*\n"
        "- Billing v2 API pagination\n*Blockers*\n- Waiting on legal for the "
        "data retention wording\n*Next week*\n- Finish pagination and docs",
    ),
    (
        4,
        16,
        "bob",
        "Weekly report {week}\n*Done*\n- Migration plan for billing v2 drafted\n"
        "- Reviewed 6 PRs\n*In progress*\n- Currency conversion service\n"
        "*Blockers*\n- None\n*Next week*\n- Load test the conversion service",
    ),
    (
        4,
        17,
        "dave",
        "Weekly report {week}\n*Done*\n- Staging deploy pipeline for billing-api\n"
        "- On-call: 2 pages, both resolved\n*In progress*\n- Alerting for queue "
        "lag\n*Blockers*\n- Need access to the prod metrics dashboard\n"
        "*Next week*\n- Runbook for the payment queue",
    ),
]

WEEKS = 4


async def seed_demo(console: ConsoleAdapter, services: Services) -> None:
    """Observe #team, let three people agree, then replay a few weeks of chat."""
    admin = next(
        a.rsplit(":", 1)[1]
        for a in services.settings.admins + ["console:admin"]
        if a.startswith("console:")
    )
    await console.post(PostedMessage(user=admin, channel="team", text="/skill admin observe #team"))
    for person in CONSENTING:
        replies = await console.post(
            PostedMessage(user=person, channel=f"dm:{person}", text="/skill optin")
        )
        agree = next(b for r in replies for b in r.buttons if b["label"] == "Agree")
        await console.click(Click(user=person, action_id=agree["action_id"], value=agree["value"]))
    now = datetime.now(UTC)
    this_monday = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    count = 0
    for back in range(WEEKS - 1, -1, -1):
        monday = this_monday - timedelta(weeks=back)
        iso = monday.isocalendar()
        for index, (weekday, hour, author, text) in enumerate(_WEEK):
            when = monday + timedelta(days=weekday, hours=hour)
            if back == 0:
                # This week so far: the same week of work, squeezed in before now, so
                # `/skill weekly-report` has this week's material whatever day it is.
                when = this_monday + (now - this_monday) * (index + 1) / (len(_WEEK) + 1)
            body = text.format(
                week=f"{iso.year}-W{iso.week:02d}",
                date=f"{when:%Y-%m-%d}",
                pr=100 + back * 10,
                pr2=101 + back * 10,
                pr3=102 + back * 10,
            )
            await console.post(PostedMessage(user=author, channel="team", text=body), when)
            count += 1
    log.info("demo.seeded", messages=count, consenting=len(CONSENTING))
    # The team lead learns and publishes #team's three skills, as a real workspace would.
    for skill in ("weekly-report", "code-review", "meeting-memo"):
        await console.post(
            PostedMessage(user=admin, channel=f"dm:{admin}", text=f"/skill learn {skill} #team")
        )
        await console.post(
            PostedMessage(user=admin, channel=f"dm:{admin}", text=f"/skill publish {skill} yes")
        )
