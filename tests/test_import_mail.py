"""`apprentice import mail`: linked senders' own words, from real mbox and .eml files."""

from __future__ import annotations

import base64
import mailbox
import sqlite3
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from aiohttp import ClientSession

from bot.app import Application
from bot.imports.mail import MailImportError, import_mail
from bot.settings import Settings
from tests.conftest import ConsoleClient
from tests.imports_support import (
    agree_to_history,
    quiet_console,
    shown,
    stored_message_ids,
    stored_texts,
)

WHEN = format_datetime(datetime.now(UTC) - timedelta(days=4))
ALICE, BOB, CAROL, DAVE = (
    "alice@example.com",
    "bob@example.com",
    "carol@example.com",
    "dave@example.com",
)


def plain(sender: str, subject: str, body: str, charset: str = "utf-8", **headers: str):
    message = MIMEText(body, "plain", charset)
    message["Subject"] = Header(subject, charset).encode() if charset != "utf-8" else subject
    message["From"] = sender
    message["To"] = "team@example.com"
    message["Date"] = WHEN
    message["Message-ID"] = make_msgid(domain="example.com")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    return message


def with_attachment(sender: str) -> MIMEMultipart:
    message = MIMEMultipart("mixed")
    message["Subject"] = "Invoice export design"
    message["From"] = f"Alice Liddell <{sender}>"
    message["Date"] = WHEN
    message["Message-ID"] = make_msgid(domain="example.com")
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText("The design is attached; the export runs nightly.", "plain"))
    alternative.attach(MIMEText("<p>The design is attached; the export runs nightly.</p>", "html"))
    message.attach(alternative)
    attachment = MIMEApplication(b"ATTACHMENT-SECRET api_key=abc", Name="design.txt")
    attachment["Content-Disposition"] = 'attachment; filename="design.txt"'
    message.attach(attachment)
    return message


def gbk_labelled_gb2312(sender: str) -> bytes:
    """What many Chinese clients send: GBK bytes (朱镕基's 镕 is not in GB2312) labelled gb2312."""
    body = base64.b64encode("镕基同志的会议纪要已上传。".encode("gbk")).decode()
    subject = "=?gb2312?b?" + base64.b64encode("会议纪要".encode("gb2312")).decode() + "?="
    return (
        f"From: {sender}\r\nSubject: {subject}\r\nDate: {WHEN}\r\n"
        f"Message-ID: {make_msgid(domain='example.com')}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: base64\r\n"
        f"\r\n{body}\r\n"
    ).encode("ascii")


def html_only(sender: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "Re: standup"
    message["From"] = sender
    message["Date"] = WHEN
    message["Message-ID"] = make_msgid(domain="example.com")
    message.set_content(
        "<div dir='ltr'>Agreed, <b>moving standup</b> to 10:00.<br>Thanks</div>"
        "<div class='gmail_quote'><div>On Mon, Bob wrote:</div>"
        "<blockquote>Can we <div>move</div> standup?</blockquote></div>",
        subtype="html",
    )
    return message


MAILS = [
    plain(
        ALICE,
        "Weekly report W48",
        "Shipped the invoice export.\nNext: retries.\n\n-- \nAlice\n+86 138 1234 5678",
    ),
    plain(
        ALICE,
        "Re: rollout",
        "Yes, roll out on Friday.\n\nOn Mon, 30 Nov 2026 at 10:00, Bob Smith <bob@example.com>\n"
        "wrote:\n> When do we roll out?\n> bob-quoted-words",
    ),
    with_attachment(ALICE),
    plain(
        ALICE,
        "周报：第48周",
        "本周完成了发票导出。\n\n在 2026年11月30日 周一 10:00，Bob 写道：\n"
        "> 请发周报 bob-quoted-zh",
        charset="gb2312",
    ),
    plain(
        ALICE,
        "Café notes",
        "Résumé: we keep the café budget.\n\n-----Original Message-----\nFrom: Bob\n"
        "Sent: Monday\nSubject: notes\n\nbob-unquoted-original",
        charset="iso-8859-1",
    ),
    plain(
        ALICE,
        "Fwd: vendor terms",
        "FYI, see below.\n\n---------- Forwarded message ---------\nFrom: Carol\n"
        "carol-forwarded-words",
    ),
    html_only(ALICE),
    gbk_labelled_gb2312(ALICE),
    plain(ALICE, "Re: only quotes", "On Tue, Bob wrote:\n> bob-only-quoted"),
    plain(ALICE, "Out of office", "I am away.", Auto_Submitted="auto-replied"),
    plain(BOB, "bob status", "bob-no-history-consent"),
    plain(CAROL, "carol status", "carol-never-agreed"),
    plain(DAVE, "dave status", "dave-agreed-but-never-linked"),
]
ALICE_WORDS = sorted(
    [
        "Weekly report W48\nShipped the invoice export.\nNext: retries.",
        "Yes, roll out on Friday.",
        "Invoice export design\nThe design is attached; the export runs nightly.",
        "周报：第48周\n本周完成了发票导出。",
        "Café notes\nRésumé: we keep the café budget.",
        "FYI, see below.",
        "Agreed, moving standup to 10:00.\nThanks",
        "会议纪要\n镕基同志的会议纪要已上传。",
    ]
)


def write_mbox(path: Path) -> Path:
    box = mailbox.mbox(path)
    for message in MAILS:
        box.add(message if isinstance(message, bytes) else message.as_bytes())
    box.close()
    return path


def write_eml_folder(path: Path) -> Path:
    path.mkdir()
    for i, message in enumerate(MAILS):
        raw = message if isinstance(message, bytes) else message.as_bytes()
        (path / f"{i:02d}.eml").write_bytes(raw)
    return path


async def link(console: ConsoleClient, user: str, address: str) -> list[dict]:
    replies = await console.say(user, f"dm:{user}", f"/skill link-email {address}")
    confirm = next(b for r in replies for b in r["buttons"] if b["label"] == "Confirm")
    return await console.click(user, confirm)


async def alice_linked_in_team(console: ConsoleClient) -> None:
    """#team observed; alice agreed to observation and history and linked her address."""
    await console.say("admin", "team", "/skill admin observe #team")
    await console.opt_in("alice")
    await agree_to_history(console, "alice")
    await link(console, "alice", ALICE)


@pytest.fixture
async def consented(app: Application, console: ConsoleClient) -> Settings:
    """#team observed. alice: history + linked; bob: observe + linked; dave: history, no link."""
    await console.say("admin", "team", "/skill admin observe #team")
    for user in ("alice", "bob", "dave"):
        await console.opt_in(user)
    await agree_to_history(console, "alice")
    await agree_to_history(console, "dave")
    await link(console, "alice", ALICE)
    await console.say("bob", "dm:bob", f"/skill link-email confirm {BOB}")  # typed, no button
    await app.stop()
    return app.settings


async def test_only_linked_consenting_senders_own_words_are_kept(
    consented: Settings, tmp_path: Path
) -> None:
    counts = await import_mail(
        consented, write_mbox(tmp_path / "team.mbox"), "#team", quiet_console()
    )
    assert counts == {
        "stored": 8,
        "no_own_words": 1,
        "from_a_bot": 1,
        "author_has_no_history_grant": 1,
        "no_linked_author": 2,
    }
    assert await stored_texts(consented, "console", "local", "alice") == ALICE_WORDS
    assert list(stored_message_ids(consented)) == ["alice"]


async def test_quotes_signatures_forwards_and_attachments_never_reach_the_database(
    consented: Settings, tmp_path: Path
) -> None:
    await import_mail(consented, write_eml_folder(tmp_path / "mails"), "team", quiet_console())
    texts = "\n".join(await stored_texts(consented, "console", "local", "alice"))
    for dropped in (
        "bob-quoted",
        "bob-unquoted",
        "carol-forwarded",
        "ATTACHMENT",
        "138",
        "Alice\n",
    ):
        assert dropped not in texts


async def test_importing_a_folder_twice_keeps_each_mail_once(
    consented: Settings, tmp_path: Path
) -> None:
    folder = write_eml_folder(tmp_path / "mails")
    await import_mail(consented, folder, "team", quiet_console())
    console = quiet_console()
    again = await import_mail(consented, folder, "team", console)
    assert "stored" not in again and "already_stored" not in again  # not even parsed again
    assert len(stored_message_ids(consented)["alice"]) == 8
    assert "13/13 mails" in shown(console)
    assert "Mails unchanged since the last import, not read again: 13." in shown(console)
    for private in ("alice", "example.com", "Weekly report"):
        assert private not in shown(console)


async def test_a_mail_already_kept_is_not_kept_again_when_read_again(
    consented: Settings, tmp_path: Path
) -> None:
    folder = write_eml_folder(tmp_path / "mails")
    await import_mail(consented, folder, "team", quiet_console())
    app = Application(consented)
    await app.start()  # dave links his address: consent changed, so every mail is read again
    async with ClientSession() as session:
        console = ConsoleClient(session, f"http://127.0.0.1:{consented.web_port}")
        await link(console, "dave", DAVE)
    await app.stop()
    again = await import_mail(consented, folder, "team", quiet_console())
    assert again["stored"] == 1 and again["already_stored"] == 8
    assert len(stored_message_ids(consented)["alice"]) == 8


async def test_an_unobserved_channel_is_refused_before_anything_is_read(
    consented: Settings, tmp_path: Path
) -> None:
    with pytest.raises(MailImportError, match="No observed channel is called 'random'"):
        await import_mail(consented, write_mbox(tmp_path / "t.mbox"), "random", quiet_console())
    assert stored_message_ids(consented) == {}


def test_a_file_that_is_not_an_mbox_is_refused(tmp_path: Path) -> None:
    from bot.imports.mail import mail_files

    bad = tmp_path / "mail.txt"
    bad.write_text("hello")
    with pytest.raises(MailImportError, match="not an mbox file"):
        mail_files(bad)


# -- /skill link-email ---------------------------------------------------------------------


async def test_linking_needs_a_person_who_opted_in(console: ConsoleClient) -> None:
    replies = await console.say("erin", "dm:erin", "/skill link-email erin@example.com")
    assert "/skill optin" in replies[0]["text"] and not replies[0]["buttons"]


async def test_an_address_is_linked_once_confirmed_and_lists_for_its_owner(
    console: ConsoleClient,
) -> None:
    await console.opt_in("alice")
    asked = await console.say("alice", "dm:alice", "/skill link-email Alice@Example.com")
    assert "Confirm" in [b["label"] for b in asked[0]["buttons"]]
    listed = await console.say("alice", "dm:alice", "/skill link-email")
    assert "none" in listed[0]["text"]  # not linked until confirmed
    await link(console, "alice", ALICE)
    listed = await console.say("alice", "dm:alice", "/skill link-email")
    assert ALICE in listed[0]["text"]


async def test_an_address_linked_to_someone_else_is_refused(console: ConsoleClient) -> None:
    await console.opt_in("alice")
    await console.opt_in("bob")
    await link(console, "alice", ALICE)
    replies = await link(console, "bob", ALICE)
    assert "linked to someone else" in replies[0]["text"]


async def test_removing_a_link_stops_the_mail_import(
    console: ConsoleClient, app: Application, tmp_path: Path
) -> None:
    await alice_linked_in_team(console)
    replies = await console.say("alice", "dm:alice", f"/skill link-email remove {ALICE}")
    assert "Unlinked" in replies[0]["text"]
    await app.stop()
    counts = await import_mail(
        app.settings, write_mbox(tmp_path / "t.mbox"), "team", quiet_console()
    )
    assert "stored" not in counts and counts["no_linked_author"] == 13


async def test_forgetting_a_person_erases_their_links(
    console: ConsoleClient, app: Application, tmp_path: Path
) -> None:
    await alice_linked_in_team(console)
    with sqlite3.connect(app.settings.sqlite_path) as db:
        assert db.execute("SELECT COUNT(*) FROM email_links").fetchone() == (1,)
    await console.say("alice", "dm:alice", "/skill forget")
    await app.stop()
    with sqlite3.connect(app.settings.sqlite_path) as db:
        assert db.execute("SELECT COUNT(*) FROM email_links").fetchone() == (0,)
