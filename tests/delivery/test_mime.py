"""The hand-written MIME writer: what it puts on the wire parses back, with the standard parser, to what went in."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from tidings.delivery.mime import BOUNDARY, BulkHeaders, Email, InvalidAddress, Mailbox, address, mailbox

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def email(**fields: object) -> Email:
    values: dict[str, object] = {
        "sender": Mailbox("Acme Shop", "news@acme.example"),
        "recipient": Mailbox("", "ann@example.com"),
        "reply_to": None,
        "subject": "Hello",
        "date": NOW,
        "message_id": "<7.1.e1.1@mail.example.com>",
        "bulk": BulkHeaders(
            list_id="<campaign-7.acme.example>",
            list_unsubscribe="<https://mail.example.com/api/v1/unsubscribe/1.sig>",
            feedback_id="7:e1:email:tidings",
        ),
        "text": "Hello\n",
        "html": "<p>Hello</p>",
    }
    return Email(**(values | fields))  # type: ignore[arg-type]


def parsed(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def contents(message: EmailMessage) -> list[str]:
    return [part.get_content().replace("\r\n", "\n") for part in message.iter_parts()]  # type: ignore[attr-defined]


def test_bodies_survive_quoted_printable_with_short_ascii_lines() -> None:
    text = "Line one\r\nline two\rline three\n.\nFrom here\n" + "long " * 100 + "\ntrailing space \n=equals\ttab"
    html = "<p>Grüße — 10 € =)</p>\n" + "<b>x</b>" * 300
    raw = email(text=text, html=html).to_bytes()

    assert all(len(line) <= 78 and line.isascii() for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    plain, rich = contents(parsed(raw))
    normalised = text.replace("\r\n", "\n").replace("\r", "\n") + "\n"
    assert plain == normalised
    assert rich == html + "\n"


def test_headers_parse_back() -> None:
    raw = email(reply_to=Mailbox("Help, Desk", "help@acme.example")).to_bytes()
    message = parsed(raw)

    assert message.get_content_type() == "multipart/alternative"
    assert message.get_param("boundary") == BOUNDARY
    assert str(message["From"]) == "Acme Shop <news@acme.example>"
    assert str(message["To"]) == "ann@example.com"
    assert message["Reply-To"].addresses[0].display_name == "Help, Desk"
    assert message["Date"].datetime == NOW
    assert message["Message-ID"] == "<7.1.e1.1@mail.example.com>"
    assert message["MIME-Version"] == "1.0"
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw


def test_a_long_ascii_subject_is_folded_and_a_non_ascii_one_encoded() -> None:
    long = "Your winter offer is here and it is bigger than ever: " * 4
    raw = email(subject=long + "\n  end").to_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    assert str(parsed(raw)["Subject"]) == long.rstrip() + " end"  # a line break and its spaces: one space

    raw = email(subject="Привет, Анна — скидка 20 %", sender=Mailbox("Café «Zürich»", "cafe@acme.example")).to_bytes()
    assert raw.split(b"\r\n\r\n", 1)[0].isascii()
    message = parsed(raw)
    assert str(message["Subject"]) == "Привет, Анна — скидка 20 %"
    assert message["From"].addresses[0].display_name == "Café «Zürich»"


def test_an_internationalised_address_needs_smtputf8_and_goes_out_as_utf8() -> None:
    message = email(recipient=Mailbox("", "анна@пример.рф"))
    assert message.needs_smtputf8 and not email().needs_smtputf8
    raw = message.to_bytes()
    assert "To: анна@пример.рф\r\n".encode() in raw
    assert str(parsed(raw)["To"]) == "анна@пример.рф"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ann@example.com", Mailbox("", "ann@example.com")),
        ("  Ann <ann@example.com> ", Mailbox("Ann", "ann@example.com")),
        ('"Smith, Ann" <ann@example.com>', Mailbox("Smith, Ann", "ann@example.com")),
        ('"ann smith"@example.com', Mailbox("", '"ann smith"@example.com')),
        ("Анна <анна@пример.рф>", Mailbox("Анна", "анна@пример.рф")),
    ],
)
def test_mailboxes(text: str, expected: Mailbox) -> None:
    assert mailbox(text) == expected


@pytest.mark.parametrize(
    "text", ["not an address", "ann@", "@example.com", "Broken <no at sign>", "", "анна @пример.рф", "анна@пример"]
)
def test_a_malformed_address_is_refused_by_name(text: str) -> None:
    with pytest.raises(InvalidAddress) as refused:
        mailbox(text)
    assert "is not an e-mail address" in str(refused.value)


def test_quoted_names_escape_quotes_and_backslashes() -> None:
    message = parsed(email(sender=Mailbox('Ann "the shop" \\ Co.', "a@b.example")).to_bytes())
    assert message["From"].addresses[0].display_name == 'Ann "the shop" \\ Co.'
    assert address(" a@b.example ") == "a@b.example"


def test_a_line_break_in_a_name_cannot_start_a_header() -> None:
    sender = mailbox("Evil\rBcc: victim@example.org\n <shop@acme.example>")
    raw = email(sender=sender, reply_to=Mailbox("Help\r\nX-Injected: 1", "help@acme.example")).to_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r" not in head.replace(b"\r\n", b"") and b"\n" not in head.replace(b"\r\n", b"")
    message = parsed(raw)
    assert "Bcc" not in message and "X-Injected" not in message
    assert message["From"].addresses[0].addr_spec == "shop@acme.example"


def test_a_subject_with_a_word_longer_than_a_line_or_a_literal_encoded_word() -> None:
    url = "https://shop.example/" + "x" * 1_200
    for subject in (f"See {url} now", "Literally =?utf-8?q?caf=C3=A9?= here"):
        raw = email(subject=subject).to_bytes()
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert all(len(line) <= 78 for line in head.split(b"\r\n"))
        assert str(parsed(raw)["Subject"]) == subject
