"""DKIM signatures (RFC 6376) over outbound e-mail, made with ``dkimpy``, and the keys they are made with.

A key belongs to a sending domain and is named by a selector: the private key stays with Tidings
(``TIDINGS_DKIM_KEYS``), the public key is published in DNS at ``<selector>._domainkey.<domain>``. A message is
signed with the key of its ``From`` domain, or of the nearest parent domain that has one (``news.example.com``
signs as ``example.com``, which DMARC's relaxed alignment accepts); a domain without a key is sent unsigned.

The signature is made over the final bytes, after the body is written: relaxed header and body
canonicalisation, ``rsa-sha256``, over the headers receivers check (``From``, ``To``, ``Subject``, ``Date``,
``Message-ID``, ``Reply-To``, ``MIME-Version``, ``Content-Type`` and the list headers). ``From``, ``Subject`` and
the unsubscribe headers are signed once more than they occur, so a relay cannot add a second one unnoticed.

Rotation without downtime uses two selectors: make a key under a new selector (``tidings dkim keygen DOMAIN
--selector s2``), publish its TXT record beside the old one, switch ``TIDINGS_DKIM_KEYS`` to it once DNS shows it,
and remove the old record a week later, when no message signed with it is still on its way.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tidings.core.errors import InvalidInput
from tidings.settings import Settings

#: The headers a signature covers when the message has them, in this order.
SIGNED_HEADERS = (
    "From",
    "To",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Feedback-ID",
)
#: Signed once more than they occur: nobody may add one of these after signing (a second From or unsubscribe).
OVERSIGNED = ("From", "Subject", "List-Unsubscribe", "List-Unsubscribe-Post")
SELECTOR = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
KEY_BITS = 2048


class DkimKeyInvalid(InvalidInput):
    code = "dkim.key_invalid"


@dataclass(frozen=True)
class DkimKey:
    """The private key a domain signs with, and the selector its public key is published under."""

    domain: str
    selector: str
    private_key_pem: bytes

    def __repr__(self) -> str:  # never print the key
        return f"DkimKey(domain={self.domain!r}, selector={self.selector!r})"

    @classmethod
    def load(cls, domain: str, selector: str, path: Path) -> DkimKey:
        """Read a PEM private key; raises ``DkimKeyInvalid`` naming the domain and file when it is unusable."""
        try:
            pem = path.read_bytes()
            key = serialization.load_pem_private_key(pem, password=None)
        except (OSError, ValueError, TypeError) as error:
            raise DkimKeyInvalid(f"the DKIM key of {domain!r} ({path}) cannot be read: {error}") from error
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 1024:
            raise DkimKeyInvalid(f"the DKIM key of {domain!r} ({path}) must be an RSA key of at least 1024 bits")
        # dkimpy reads the traditional PKCS#1 form ("BEGIN RSA PRIVATE KEY")
        pkcs1 = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        return cls(domain.lower().rstrip("."), selector, pkcs1)


class DkimSigner:
    """Signs messages with the key of their sender's domain."""

    def __init__(self, keys: Mapping[str, DkimKey]) -> None:
        self.keys = {domain.lower().rstrip("."): key for domain, key in keys.items()}

    @classmethod
    def from_settings(cls, settings: Settings) -> DkimSigner:
        """The keys of ``TIDINGS_DKIM_KEYS``, read once; raises ``DkimKeyInvalid`` for a key that cannot be used."""
        keys = settings.dkim_keys.items()
        return cls({domain: DkimKey.load(domain, key.selector, key.private_key_file) for domain, key in keys})

    def key_for(self, sender_domain: str) -> DkimKey | None:
        """The key of ``sender_domain`` or of its nearest parent domain that has one."""
        labels = sender_domain.lower().rstrip(".").split(".")
        for start in range(len(labels) - 1):
            key = self.keys.get(".".join(labels[start:]))
            if key is not None:
                return key
        return None

    def sign(self, message: bytes, sender_domain: str) -> bytes:
        """``message`` with a ``DKIM-Signature`` header in front, or as it is when the domain has no key."""
        key = self.key_for(sender_domain)
        if key is None:
            return message
        lines = message.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        starts = [line for line in lines if line[:1] not in (b" ", b"\t")]  # not the folded continuations
        names = {line.split(b":", 1)[0].decode("ascii", "replace").lower() for line in starts}
        present = [name for name in SIGNED_HEADERS if name.lower() in names]
        include = present + [name for name in OVERSIGNED if name in present]
        signature: bytes = dkim.sign(
            message,
            key.selector.encode("ascii"),
            key.domain.encode("ascii"),
            key.private_key_pem,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=[name.encode("ascii") for name in include],
            linesep=b"\r\n",
        )
        return signature + message


def generate(domain: str, selector: str) -> tuple[bytes, str]:
    """A new RSA key for ``domain``: its private key (PKCS#8 PEM) and the DNS TXT record to publish."""
    if not SELECTOR.fullmatch(selector):
        raise DkimKeyInvalid(f"selector {selector!r} must be letters, digits and inner hyphens (e.g. s1, 2026a)")
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, dns_record(domain, selector, public)


def txt_value(public_key_der: bytes) -> str:
    """The TXT record's value for a public key (DER ``SubjectPublicKeyInfo``)."""
    return f"v=DKIM1; k=rsa; p={base64.b64encode(public_key_der).decode('ascii')}"


def dns_record(domain: str, selector: str, public_key_der: bytes) -> str:
    """The record as a zone file line; the value is split into strings of at most 255 characters (RFC 1035)."""
    value = txt_value(public_key_der)
    strings = " ".join(f'"{value[i : i + 255]}"' for i in range(0, len(value), 255))
    return f"{selector}._domainkey.{domain.rstrip('.')}. IN TXT ( {strings} )"
