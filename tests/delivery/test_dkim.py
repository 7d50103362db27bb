"""DKIM: messages delivered over SMTP (aiosmtpd on loopback) verify with dkimpy against the published key, and stop
verifying when a signed header or the body is altered."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import dkim
import pytest
from typer.testing import CliRunner

from tests.delivery.conftest import SmtpServer
from tests.delivery.test_smtp_provider import outbound
from tidings.cli import app
from tidings.delivery.dkim import DkimKey, DkimKeyInvalid, DkimSigner, generate
from tidings.delivery.providers import send_all
from tidings.delivery.smtp import SmtpProvider
from tidings.settings import Settings

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


class Zone:
    """The DNS as a receiver sees it: the TXT records published from `tidings dkim keygen`'s output."""

    def __init__(self) -> None:
        self.records: dict[str, bytes] = {}

    def publish(self, record: str) -> None:
        match = re.fullmatch(r"(\S+)\. IN TXT \( (.+) \)", record)
        assert match, record
        self.records[match.group(1)] = "".join(re.findall(r'"([^"]*)"', match.group(2))).encode()

    def txt(self, name: bytes, timeout: int = 5) -> bytes | None:
        return self.records.get(name.decode().rstrip("."))

    def verifies(self, raw: bytes) -> bool:
        return bool(dkim.verify(raw, dnsfunc=self.txt))


def keygen(tmp_path: Path, domain: str, selector: str) -> tuple[str, Path]:
    """Run the command as an operator would; answer the record it printed and the key file it wrote."""
    result = CliRunner().invoke(app, ["dkim", "keygen", domain, "--selector", selector, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (record,) = [line for line in result.stdout.splitlines() if "._domainkey." in line]
    (setting,) = [line for line in result.stdout.splitlines() if line.startswith("TIDINGS_DKIM_KEYS=")]
    path = Path(json.loads(setting.partition("=")[2].strip("'"))[domain]["private_key_file"])
    assert path.stat().st_mode & 0o777 == 0o600
    return record, path


def provider(server: SmtpServer, keys: dict[str, tuple[str, Path]]) -> SmtpProvider:
    return SmtpProvider(
        Settings(
            smtp_host=server.host,
            smtp_port=server.port,
            smtp_connections=1,
            public_url="https://mail.example.com/",
            dkim_keys={domain: {"selector": s, "private_key_file": str(p)} for domain, (s, p) in keys.items()},
        )
    )


def test_a_delivered_message_verifies_and_an_altered_one_does_not(smtp_server: SmtpServer, tmp_path: Path) -> None:
    zone = Zone()
    record, key_file = keygen(tmp_path, "acme.example", "s1")
    zone.publish(record)
    results = send_all(provider(smtp_server, {"acme.example": ("s1", key_file)}), [outbound(1)], NOW)

    assert results[0].ok
    raw = smtp_server.received[0].raw
    assert raw.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=acme.example;")
    signed = re.search(rb"h=([^;]+);", raw.replace(b"\r\n", b""))
    assert signed is not None
    names = [name.strip().lower() for name in signed.group(1).split(b":")]
    for header in (b"from", b"to", b"subject", b"date", b"message-id", b"list-id", b"list-unsubscribe"):
        assert header in names
    assert names.count(b"from") == 2 and names.count(b"list-unsubscribe-post") == 2  # over-signed
    assert zone.verifies(raw)

    head, _, body = raw.partition(b"\r\n\r\n")
    assert not zone.verifies(head.replace(b"Subject: Hello 1", b"Subject: Hello 2") + b"\r\n\r\n" + body)
    assert not zone.verifies(head + b"\r\n\r\n" + body.replace(b"winter", b"summer"))
    assert not zone.verifies(head + b"\r\nFrom: Mallory <m@evil.example>\r\n\r\n" + body)  # a second From
    assert not zone.verifies(raw.replace(b"https://mail.example.com/api/v1/unsubscribe/", b"https://evil.example/"))
    assert not Zone().verifies(raw)  # no key published


def test_rotation_two_selectors_and_subdomains(smtp_server: SmtpServer, tmp_path: Path) -> None:
    """Mail signed with the old selector still verifies while the new one signs; a subdomain's mail is signed with
    its parent's key (DMARC's relaxed alignment); a domain without a key goes unsigned."""
    zone = Zone()
    old_record, old_key = keygen(tmp_path, "acme.example", "s1")
    new_record, new_key = keygen(tmp_path, "acme.example", "s2")
    zone.publish(old_record)
    zone.publish(new_record)

    send_all(provider(smtp_server, {"acme.example": ("s1", old_key)}), [outbound(1)], NOW)
    news = outbound(2, sender="Acme News <hello@news.acme.example>")
    send_all(provider(smtp_server, {"acme.example": ("s2", new_key)}), [news], NOW)
    send_all(provider(smtp_server, {"acme.example": ("s2", new_key)}), [outbound(3, sender="x@other.example")], NOW)

    old, new, other = (received.raw for received in smtp_server.received)
    assert b"s=s1;" in old and zone.verifies(old)
    assert b"s=s2;" in new and b"d=acme.example;" in new and zone.verifies(new)
    assert not other.startswith(b"DKIM-Signature")


def test_an_unusable_key_or_selector_is_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"TIDINGS_DKIM_KEYS: the key file of 'acme.example'"):
        Settings(dkim_keys={"acme.example": {"selector": "s1", "private_key_file": str(tmp_path / "missing.pem")}})
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    with pytest.raises(DkimKeyInvalid, match=r"the DKIM key of 'acme.example' \(.*garbage.pem\) cannot be read"):
        DkimKey.load("acme.example", "s1", garbage)
    with pytest.raises(DkimKeyInvalid, match="selector 'bad selector'"):
        generate("acme.example", "bad selector")
    refused = CliRunner().invoke(app, ["dkim", "keygen", "acme.example", "--selector", "a_b", "--out", str(tmp_path)])
    assert refused.exit_code == 2


def test_the_key_is_never_printed(tmp_path: Path) -> None:
    private, _record = generate("acme.example", "s1")
    path = tmp_path / "k.pem"
    path.write_bytes(private)
    key = DkimKey.load("acme.example", "s1", path)
    signer = DkimSigner({"acme.example": key})
    assert "PRIVATE" not in repr(key) and "PRIVATE" not in repr(signer.keys)
