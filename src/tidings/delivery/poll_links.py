"""Signed per-customer poll links (``rendering.templates``' ``poll_link`` filter writes them with a ``PollLinks``).

    {{ 'POLL-1' | poll_link }}   →   {public_url}/vote/POLL-1.<base64url(external id)>.<signature>
    {{ 1 | poll_link }}          →   the same

    signature = Signer(key, "tidings/poll").sign(poll code, external id)

The key is ``TIDINGS_SECRET_KEY``, as for tracking links (``tidings.delivery.signing``: the domain string keeps
the two kinds of token apart). A link names the poll and the customer, so nothing is stored per link and anyone
holding it answers as that customer — which is what a personal link in an e-mail means. ``verify`` answers
``None`` for anything malformed, tampered or signed with another key, without saying which.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from typing import Any

from tidings.delivery.signing import SIGNATURE, Signer, decode_b64url, encode_b64url
from tidings.settings import Settings

VOTE_PATH = "/vote/"
MAX_TOKEN_LENGTH = 512

_DOMAIN = b"tidings/poll"
_CODE = re.compile(r"POLL-[1-9][0-9]{0,18}")
_TOKEN = re.compile(rf"(POLL-[1-9][0-9]{{0,18}})\.([A-Za-z0-9_-]{{1,200}})\.({SIGNATURE.pattern})")


@dataclass(frozen=True)
class PollLink:
    poll_code: str
    external_id: str


def poll_code(value: Any) -> str | None:
    """``"POLL-7"``, ``"poll-7"`` or ``7`` → ``"POLL-7"``; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = f"POLL-{value}"
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    return code if _CODE.fullmatch(code) else None


class PollLinks:
    """Signs and verifies poll tokens; one per process, shared by delivery (the filter) and the voting page."""

    def __init__(self, secret_key: str, public_url: str) -> None:
        self._signer = Signer(secret_key, _DOMAIN)
        self.public_url = public_url.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Settings) -> PollLinks:
        return cls(settings.secret_key.get_secret_value(), settings.public_url)

    def token(self, code: str, external_id: str) -> str:
        signature = self._signer.sign(*_signed(code, external_id))
        return f"{code}.{encode_b64url(external_id.encode('utf-8'))}.{signature}"

    def url(self, code: str, external_id: str) -> str:
        return f"{self.public_url}{VOTE_PATH}{self.token(code, external_id)}"

    def verify(self, token: str) -> PollLink | None:
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        match = _TOKEN.fullmatch(token)
        if match is None:
            return None
        code, encoded, signature = match.groups()
        try:
            external_id = decode_b64url(encoded).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        if not self._signer.verify(signature, *_signed(code, external_id)):
            return None
        return PollLink(code, external_id)


def _signed(code: str, external_id: str) -> tuple[bytes, bytes]:
    return code.encode("ascii"), external_id.encode("utf-8")
