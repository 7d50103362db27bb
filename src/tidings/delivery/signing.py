"""The signature of every link we hand out that must not be forged: tracking, unsubscribe and poll links.

    signature = base64url(first 16 bytes of HMAC-SHA256(key, domain NUL part NUL part …)), unpadded

The key is ``TIDINGS_SECRET_KEY``. Each kind of link signs under its own domain string (``tidings/1`` for
tracking and unsubscribe links, ``tidings/poll`` for poll links), so a token of one kind is never taken for
another. Nothing is stored per link: a link carries its parts and their signature.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import re

SIGNATURE_BYTES = 16
#: A signature as it stands in a link: 16 bytes in unpadded base64url.
SIGNATURE = re.compile(r"[A-Za-z0-9_-]{22}")


class Signer:
    """Signs and checks the parts of one kind of link (at least one part each); built once per process, the key's
    HMAC states with it."""

    def __init__(self, secret_key: str, domain: bytes) -> None:
        self._mac = _Hmac(secret_key.encode("utf-8")).after(domain + b"\0")

    def under(self, *leading: bytes) -> Signer:
        """A signer whose ``sign(*parts)`` is this one's ``sign(*leading, *parts)``, with ``leading`` hashed once
        here rather than for every signature (a kind of link, signed per message)."""
        signer = copy.copy(self)
        signer._mac = self._mac.after(b"\0".join(leading) + b"\0")
        return signer

    def sign(self, *parts: bytes) -> str:
        return encode_b64url(self._mac.digest(b"\0".join(parts))[:SIGNATURE_BYTES])

    def verify(self, signature: str, *parts: bytes) -> bool:
        """Whether ``signature`` is the one of ``parts`` (compared in constant time)."""
        return hmac.compare_digest(signature, self.sign(*parts))


def encode_b64url(raw: bytes) -> str:
    """Unpadded base64url, as links carry their parts and signatures."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_b64url(text: str) -> bytes:
    """The bytes of unpadded base64url; raises ``binascii.Error`` (a ``ValueError``) for anything else."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _Hmac:
    """HMAC-SHA256 as RFC 2104 defines it, on hashlib's own objects: the keyed inner and outer states are
    hashed once, and a signature costs two state copies (about half the cost of copying an ``hmac`` object,
    which matters with a signature per link per message). ``test_signing`` checks it against ``hmac``."""

    def __init__(self, key: bytes) -> None:
        block = hashlib.sha256().block_size
        if len(key) > block:
            key = hashlib.sha256(key).digest()
        key = key.ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))

    def after(self, prefix: bytes) -> _Hmac:
        """This HMAC with ``prefix`` already hashed: its ``digest(m)`` is this one's ``digest(prefix + m)``."""
        mac = copy.copy(self)
        mac._inner = self._inner.copy()
        mac._inner.update(prefix)
        return mac

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()
