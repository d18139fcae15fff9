"""History imports: any source of past messages through the same consent gate as live ones.

Each importer (`adapters/slack/export.py`, `adapters/lark/history.py`, `bot/imports/jsonl.py`,
`bot/imports/mail.py`) turns its source into Events; `bot/imports/runner.py` decides them in
batches with the ConsentGate (observed channel + history consent), skips what is stored
already and writes the rest in one transaction per batch; `bot/imports/report.py` shows the
progress and the counts by reason — never a name or a word of text.
"""
