"""What an import shows: a progress bar while it reads, then the counts by reason.

Counts only: never a name, an address or a word of anyone's text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

LABELS = {
    "stored": "imported",
    "already_stored": "imported before (nothing new)",
    "channel_not_observed": "channel not observed",
    "author_has_no_grant": "author has not agreed to be observed",
    "author_has_no_history_grant": "author has not agreed to history import",
    "older_than_retention": "older than the retention period",
    "private_conversation": "direct or group message (never read)",
    "from_a_bot": "written by a bot",
    "system_message": "system message (joins, topic changes…)",
    "command_to_the_bot": "a command to the bot",
    "unreadable_day_file": "day file that is not valid JSON",
    "empty": "no text",
    "duplicate_event": "the same message twice in the input",
    "not_text": "not text (image, file, card, sticker…)",
    "deleted": "deleted or recalled on the platform",
    "no_linked_author": "sender's address is not linked to anyone who agreed",
    "no_own_words": "nothing of the sender's own words (only quotes or a signature)",
}
NOT_SKIPPED = ("stored", "already_stored")


def progress_bar(console: Console, unit: str, *, counted: bool = True) -> Progress:
    """A bar for `unit`s read (days, lines, pages, messages); counted shows `n/total`."""
    columns = [TextColumn("{task.description}"), BarColumn()]
    if counted:
        columns.append(MofNCompleteColumn())
        columns.append(TextColumn(unit))
    columns += [TimeElapsedColumn(), TimeRemainingColumn()]
    return Progress(*columns, console=console, transient=False)


def print_summary(
    console: Console, title: str, counts: Counter[str], notes: Iterable[str] = ()
) -> None:
    """The table of outcomes, then `Imported N messages; skipped M.` and any notes."""
    table = Table(title=title, show_header=True)
    table.add_column("outcome")
    table.add_column("messages", justify="right")
    for outcome, number in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        if number:
            table.add_row(LABELS.get(outcome, outcome.replace("_", " ")), str(number))
    console.print(table)
    imported = counts.get("stored", 0)
    skipped = sum(n for outcome, n in counts.items() if outcome not in NOT_SKIPPED)
    console.print(f"Imported {imported} messages; skipped {skipped}.")
    for note in notes:
        console.print(note)
    if not imported and counts.get("channel_not_observed"):
        console.print(
            "Only channels observed now are imported: an admin runs /skill admin observe "
            "#channel, and each person agrees with /skill optin history."
        )
    elif not imported and counts.get("author_has_no_history_grant"):
        console.print(
            "Only the messages of people who agreed to history import are imported: "
            "each person agrees with /skill optin history."
        )
