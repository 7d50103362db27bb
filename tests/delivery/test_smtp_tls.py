"""SMTP over TLS against a real aiosmtpd: STARTTLS (port 587 style) and implicit TLS (port 465 style), the relay's
certificate issued by a private certificate authority made for the test with the ``openssl`` command."""

from __future__ import annotations

import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.delivery.conftest import RecordingHandler, ServerFactory, SmtpServer, authenticator
from tests.delivery.test_smtp_provider import NOW, outbound
from tidings.delivery.providers import send_all
from tidings.delivery.smtp import SmtpProvider
from tidings.settings import Settings


@dataclass(frozen=True)
class Certificates:
    ca_file: Path
    server: ssl.SSLContext


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A CA and a certificate it issued for 127.0.0.1 and localhost (EC keys: quick to make)."""
    where = tmp_path_factory.mktemp("tls")
    key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2")
    ca_extensions = ("-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    _openssl(
        "req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=Test CA", *ca_extensions, cwd=where
    )
    _openssl("req", "-new", *key[:-2], "-keyout", "relay.key", "-out", "relay.csr", "-subj", "/CN=localhost", cwd=where)
    (where / "relay.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    issue = ("-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "relay.ext")
    _openssl("x509", "-req", "-in", "relay.csr", *issue, "-out", "relay.pem", cwd=where)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(where / "relay.pem", where / "relay.key")
    return Certificates(where / "ca.pem", server)


def tls_provider(server: SmtpServer, **settings: object) -> SmtpProvider:
    return SmtpProvider(Settings(smtp_host=server.host, smtp_port=server.port, smtp_connections=1, **settings))  # type: ignore[arg-type]


def test_starttls_then_auth_with_the_relay_s_own_ca(
    smtp_server_factory: ServerFactory, certificates: Certificates
) -> None:
    relay = smtp_server_factory(
        RecordingHandler(),
        tls_context=certificates.server,
        require_starttls=True,  # MAIL before STARTTLS is refused: a delivery proves the session was encrypted
        authenticator=authenticator({"tidings": "s3cret"}),
    )
    smtp = tls_provider(
        relay,
        smtp_starttls=True,
        smtp_ca_file=str(certificates.ca_file),
        smtp_username="tidings",
        smtp_password="s3cret",
    )

    results = send_all(smtp, [outbound(1), outbound(2)], NOW)

    assert [r.ok for r in results] == [True, True], results
    assert [r.login for r in relay.received] == ["tidings", "tidings"]


def test_implicit_tls(smtp_server_factory: ServerFactory, certificates: Certificates) -> None:
    relay = smtp_server_factory(RecordingHandler(), ssl_context=certificates.server)

    results = send_all(
        tls_provider(relay, smtp_implicit_tls=True, smtp_ca_file=str(certificates.ca_file)), [outbound(1)], NOW
    )

    assert results[0].ok, results
    assert [r.rcpt_tos for r in relay.received] == [["user1@example.com"]]


def test_a_certificate_nobody_trusts_fails_the_chunk_as_transient_and_sends_nothing(
    smtp_server_factory: ServerFactory, certificates: Certificates
) -> None:
    relay = smtp_server_factory(RecordingHandler(), tls_context=certificates.server, require_starttls=True)

    results = send_all(tls_provider(relay, smtp_starttls=True), [outbound(1), outbound(2)], NOW)

    assert [(r.ok, r.transient) for r in results] == [(False, True), (False, True)]
    assert results[0].error is not None and "certificate" in results[0].error.lower()
    assert relay.received == []


def test_a_relay_that_requires_starttls_refuses_a_plain_client_until_the_settings_are_fixed(
    smtp_server_factory: ServerFactory, certificates: Certificates
) -> None:
    relay = smtp_server_factory(RecordingHandler(), tls_context=certificates.server, require_starttls=True)

    [result] = send_all(tls_provider(relay), [outbound(1)], NOW)

    assert (result.ok, result.transient) == (False, True)  # retried later, not failed for good
    assert result.error is not None and result.error.startswith("530") and "TIDINGS_SMTP_STARTTLS" in result.error
    assert relay.received == []


def test_settings_refuse_both_tls_modes_and_a_missing_ca_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="exclude each other"):
        Settings(smtp_starttls=True, smtp_implicit_tls=True)
    with pytest.raises(ValidationError, match="is not a file"):
        Settings(smtp_ca_file=str(tmp_path / "missing.pem"))
