"""A real SMTP server (aiosmtpd) on 127.0.0.1 and an ephemeral port, recording what it accepts."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    peer: Any
    login: str | None

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)


@dataclass
class RecordingHandler:
    """Accepts everything except the recipients in ``replies`` (answered with the given reply)."""

    replies: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    drop_on: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.drop_on:  # the connection dies mid-chunk
            assert server.transport is not None
            server.transport.close()
            return "421 closing"
        if address in self.replies:
            return self.replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        assert envelope.mail_from is not None and isinstance(envelope.original_content, bytes)
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content, session.peer, login)
        )
        return "250 Message accepted for delivery"


class EphemeralController(Controller):
    """Binds port 0 itself (the stock controller would try to connect to port 0 to check it is up)."""

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.hostname, 0))
        self.port = sock.getsockname()[1]
        return self.loop.create_server(self._factory_invoker, sock=sock, ssl=self.ssl_context)


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: RecordingHandler

    @property
    def received(self) -> list[Received]:
        return self.handler.received


def authenticator(users: dict[str, str]) -> Callable[..., AuthResult]:
    def check(server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and users.get(data.login.decode()) == data.password.decode()
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

    return check


ServerFactory = Callable[..., SmtpServer]


@pytest.fixture
def smtp_server_factory() -> Iterator[ServerFactory]:
    controllers: list[Controller] = []

    def start(handler: RecordingHandler | None = None, **smtp_options: Any) -> SmtpServer:
        handler = handler or RecordingHandler()
        controller = EphemeralController(handler, hostname="127.0.0.1", server_hostname="localhost", **smtp_options)
        controller.start()
        controllers.append(controller)
        return SmtpServer("127.0.0.1", controller.port, handler)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def smtp_server(smtp_server_factory: ServerFactory) -> SmtpServer:
    return smtp_server_factory()
