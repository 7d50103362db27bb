"""SmtpProvider against a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import threading
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from tests.delivery.conftest import RecordingHandler, ServerFactory, SmtpServer, authenticator
from tidings.delivery.channels.email import OutboundEmail
from tidings.delivery.providers import SendResult, send_all
from tidings.delivery.smtp import SmtpProvider
from tidings.delivery.tracking import Tracker
from tidings.settings import Settings

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
BODY = (
    "<html><head><style>p {color: red}</style></head><body><h1>Hi Ann</h1><p>Our <b>winter</b> sale &amp; more."
    '<br>See <a href="https://shop.example/sale">the sale</a>.</p><ul><li>One</li><li>Two</li></ul></body></html>'
)


def provider(server: SmtpServer, **settings: Any) -> SmtpProvider:
    """One connection unless told otherwise, so that messages go out in order."""
    return SmtpProvider(
        Settings(
            smtp_host=server.host,
            smtp_port=server.port,
            public_url="https://mail.example.com/",
            **({"smtp_connections": 1} | settings),
        )
    )


def outbound(n: int, recipient: str | None = None, **fields: Any) -> OutboundEmail:
    values: dict[str, Any] = {
        "message_id": n,
        "idempotency_key": f"7.{100 + n}.welcome.{n}",
        "sender": "Acme Shop <news@acme.example>",
        "reply_to": None,
        "recipient": recipient or f"user{n}@example.com",
        "subject": f"Hello {n}",
        "body_html": BODY,
    }
    return OutboundEmail(**(values | fields))


def parts(message: EmailMessage) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    plain, html = list(message.iter_parts())
    assert plain.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    texts = [part.get_content().replace("\r\n", "\n") for part in (plain, html)]
    return texts[0], texts[1]


def test_a_chunk_goes_over_one_connection_as_proper_mime(smtp_server: SmtpServer) -> None:
    batch = [outbound(1, reply_to="help@acme.example"), outbound(2), outbound(3)]
    results = send_all(provider(smtp_server), batch, NOW)

    assert [(r.message_id, r.ok) for r in results] == [(1, True), (2, True), (3, True)]
    received = smtp_server.received
    assert [r.rcpt_tos for r in received] == [["user1@example.com"], ["user2@example.com"], ["user3@example.com"]]
    assert {r.mail_from for r in received} == {"news@acme.example"}
    assert len({r.peer for r in received}) == 1  # one SMTP session for the whole chunk

    first = received[0].message
    assert str(first["From"]) == "Acme Shop <news@acme.example>"
    assert str(first["To"]) == "user1@example.com"
    assert str(first["Reply-To"]) == "help@acme.example"
    assert str(first["Subject"]) == "Hello 1"
    assert first["Message-ID"] == "<7.101.welcome.1@acme.example>"  # the sender's domain, not the server's
    assert results[0].provider_message_id == "<7.101.welcome.1@acme.example>"
    assert first["Date"].datetime == NOW
    assert "Reply-To" not in received[1].message
    # the header is on the wire verbatim: no encoded words, the URLs readable by any client
    unsubscribe = Tracker.from_settings(Settings(public_url="https://mail.example.com/")).unsubscribe_url(1)
    assert unsubscribe.startswith("https://mail.example.com/api/v1/unsubscribe/1.")
    assert (
        b"List-Unsubscribe: <mailto:news@acme.example?subject=unsubscribe%207.101.welcome.1>, "
        + f"<{unsubscribe}>\r\n".encode()
    ) in received[0].raw
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in received[0].raw

    plain, html = parts(first)
    assert html.strip() == BODY
    assert plain == "Hi Ann\n\nOur winter sale & more.\nSee the sale (https://shop.example/sale).\n\n- One\n- Two\n"
    assert all(len(line) <= 998 and line.isascii() for line in received[0].raw.split(b"\r\n"))


def test_several_connections_share_a_chunk_each_message_once(smtp_server: SmtpServer) -> None:
    batch = [outbound(n) for n in range(1, 31)]
    results = send_all(provider(smtp_server, smtp_connections=3), batch, NOW)

    assert sorted((r.message_id, r.ok) for r in results) == [(n, True) for n in range(1, 31)]
    received = smtp_server.received
    assert sorted(r.rcpt_tos[0] for r in received) == sorted(f"user{n}@example.com" for n in range(1, 31))
    assert len({r.message["Message-ID"] for r in received}) == 30
    assert len({r.peer for r in received}) == 3  # three sessions, reused for the whole chunk


def test_several_connections_to_an_unreachable_server_fail_the_chunk_as_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    smtp = SmtpProvider(Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_connections=4))
    results = send_all(smtp, [outbound(n) for n in range(1, 11)], NOW)

    assert sorted((r.message_id, r.ok, r.transient) for r in results) == [(n, False, True) for n in range(1, 11)]
    assert all(f"cannot connect to 127.0.0.1:{port}" in (r.error or "") for r in results)


def test_unicode_names_and_subjects_survive(smtp_server: SmtpServer) -> None:
    message = outbound(
        1,
        sender="Café «Zürich», Ltd <cafe@acme.example>",
        subject="Привет,\nАнна",
        body_html="<p>Grüße — " + "x" * 2000 + "</p>",
    )
    [result] = send_all(provider(smtp_server), [message], NOW)

    assert result.ok, result.error
    received = smtp_server.received[0].message
    assert received["From"].addresses[0].display_name == "Café «Zürich», Ltd"
    assert received["From"].addresses[0].addr_spec == "cafe@acme.example"
    assert str(received["Subject"]) == "Привет, Анна"
    plain, html = parts(received)
    assert html.strip() == message.body_html
    assert plain.startswith("Grüße — xxx")


def test_a_refused_recipient_fails_alone_and_for_good(smtp_server_factory: ServerFactory) -> None:
    server = smtp_server_factory(RecordingHandler(replies={"gone@example.com": "550 5.1.1 No such user"}))
    batch = [outbound(1), outbound(2, "gone@example.com"), outbound(3)]
    results = send_all(provider(server), batch, NOW)

    assert results[0].ok and results[2].ok
    assert results[1] == SendResult(2, False, error="550 5.1.1 No such user", transient=False)
    assert [r.rcpt_tos for r in server.received] == [["user1@example.com"], ["user3@example.com"]]


def test_a_4xx_reply_is_transient(smtp_server_factory: ServerFactory) -> None:
    server = smtp_server_factory(RecordingHandler(replies={"busy@example.com": "451 4.3.0 Try again later"}))
    results = send_all(provider(server), [outbound(1, "busy@example.com"), outbound(2)], NOW)

    assert results[0] == SendResult(1, False, error="451 4.3.0 Try again later", transient=True)
    assert results[1].ok
    assert len(server.received) == 1


def test_auth_without_starttls(smtp_server_factory: ServerFactory) -> None:
    server = smtp_server_factory(authenticator=authenticator({"tidings": "s3cret"}), auth_require_tls=False)

    smtp = provider(server, smtp_username="tidings", smtp_password="s3cret", smtp_starttls=False)
    results = send_all(smtp, [outbound(1), outbound(2)], NOW)

    assert all(r.ok for r in results)
    assert [r.login for r in server.received] == ["tidings", "tidings"]


def test_rejected_credentials_fail_the_chunk_as_transient(smtp_server_factory: ServerFactory) -> None:
    server = smtp_server_factory(authenticator=authenticator({"tidings": "s3cret"}), auth_require_tls=False)

    results = send_all(
        provider(server, smtp_username="tidings", smtp_password="wrong"), [outbound(1), outbound(2)], NOW
    )

    assert [(r.ok, r.transient) for r in results] == [(False, True), (False, True)]
    assert results[0].error is not None and "535" in results[0].error
    assert server.received == []


def test_an_unreachable_server_fails_the_chunk_as_transient() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    smtp = SmtpProvider(Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_connections=1))
    results = send_all(smtp, [outbound(1), outbound(2)], NOW)

    assert [(r.message_id, r.ok, r.transient) for r in results] == [(1, False, True), (2, False, True)]
    assert results[0].error is not None and f"127.0.0.1:{port}" in results[0].error


def test_a_lost_connection_fails_the_rest_of_the_chunk_as_transient(smtp_server_factory: ServerFactory) -> None:
    server = smtp_server_factory(RecordingHandler(drop_on={"drop@example.com"}))
    batch = [outbound(1), outbound(2, "drop@example.com"), outbound(3)]
    results = send_all(provider(server), batch, NOW)

    assert results[0].ok
    assert [(r.message_id, r.ok, r.transient) for r in results[1:]] == [(2, False, True), (3, False, True)]
    assert len(server.received) == 1


def test_an_invalid_address_fails_only_its_message(smtp_server: SmtpServer) -> None:
    batch = [outbound(1, "not an address"), outbound(2, sender="Broken <no at sign>"), outbound(3)]
    results = send_all(provider(smtp_server), batch, NOW)

    assert [(r.ok, r.transient) for r in results] == [(False, False), (False, False), (True, False)]
    assert [r.rcpt_tos for r in smtp_server.received] == [["user3@example.com"]]


def test_works_from_a_thread_and_from_inside_a_running_loop(smtp_server: SmtpServer) -> None:
    smtp = provider(smtp_server)
    from_thread: list[list[SendResult]] = []
    thread = threading.Thread(target=lambda: from_thread.append(send_all(smtp, [outbound(1)], NOW)))
    thread.start()
    thread.join()

    async def under_a_loop() -> list[SendResult]:
        return send_all(smtp, [outbound(2)], NOW)

    from_loop = asyncio.run(under_a_loop())

    assert from_thread[0][0].ok and from_loop[0].ok
    assert len(smtp_server.received) == 2


def test_an_empty_chunk_opens_no_connection() -> None:
    assert send_all(SmtpProvider(Settings(smtp_host="127.0.0.1", smtp_port=1)), [], NOW) == []


def test_an_internationalised_address_goes_out_with_smtputf8_where_the_relay_offers_it(
    smtp_server_factory: ServerFactory,
) -> None:
    with_utf8 = smtp_server_factory(enable_SMTPUTF8=True)
    without = smtp_server_factory(enable_SMTPUTF8=False)
    batch = [outbound(1, "анна@пример.рф"), outbound(2)]

    accepted = send_all(provider(with_utf8), batch, NOW)
    refused = send_all(provider(without), batch, NOW)

    assert [r.ok for r in accepted] == [True, True]
    assert [r.rcpt_tos for r in with_utf8.received] == [["анна@пример.рф"], ["user2@example.com"]]
    assert str(with_utf8.received[0].message["To"]) == "анна@пример.рф"
    assert [(r.ok, r.transient) for r in refused] == [(False, False), (True, False)]
    assert refused[0].error is not None and "SMTPUTF8" in refused[0].error
    assert [r.rcpt_tos for r in without.received] == [["user2@example.com"]]  # the session went on


def test_a_note_to_a_user_carries_no_unsubscribe_headers(smtp_server: SmtpServer) -> None:
    results = send_all(provider(smtp_server), [outbound(1, internal=True), outbound(2)], NOW)

    assert [r.ok for r in results] == [True, True]
    note, customer_mail = (received.raw for received in smtp_server.received)
    assert b"List-Unsubscribe" not in note and b"List-Id" not in note and b"Precedence" not in note
    assert b"List-Unsubscribe: <mailto:" in customer_mail and b"List-Unsubscribe-Post:" in customer_mail
    assert b"List-Id: <campaign-0.acme.example>\r\n" in customer_mail
    assert b"Precedence: bulk\r\n" in customer_mail


def test_a_categorys_mail_is_listed_under_the_category(smtp_server: SmtpServer) -> None:
    send_all(provider(smtp_server), [outbound(1, campaign_id=7, node_id="e 1", category="news")], NOW)

    (received,) = smtp_server.received
    assert received.message["List-Id"] == "<category-news.acme.example>"
    assert received.message["Feedback-ID"] == "7:e-1:email:tidings"


def test_an_address_refused_after_mail_leaves_no_envelope_behind(smtp_server: SmtpServer) -> None:
    batch = [outbound(1), outbound(2, "a@[<x>]"), outbound(3)]
    results = send_all(provider(smtp_server), batch, NOW)

    assert [(r.ok, r.transient) for r in results] == [(True, False), (False, False), (True, False)]
    assert [r.rcpt_tos for r in smtp_server.received] == [["user1@example.com"], ["user3@example.com"]]


def test_a_relay_that_closes_the_connection_after_a_reply_gets_a_new_one(smtp_server_factory: ServerFactory) -> None:
    server = smtp_server_factory(RecordingHandler(replies={"busy@example.com": "421 4.3.2 closing, come back"}))
    batch = [outbound(1), outbound(2, "busy@example.com"), outbound(3), outbound(4)]
    results = send_all(provider(server), batch, NOW)

    assert [(r.ok, r.transient) for r in results] == [(True, False), (False, True), (True, False), (True, False)]
    assert [r.rcpt_tos[0] for r in server.received] == ["user1@example.com", "user3@example.com", "user4@example.com"]
    assert len({r.peer for r in server.received}) == 2  # the rest of the chunk went over a new session
