from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from tidings.delivery.poll_links import PollLinks
from tidings.delivery.signing import _Hmac
from tidings.delivery.tracking import Tracker

KEY = "a-test-key-that-is-long-enough"
PUBLIC = "https://news.shop.example"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def documented(message: bytes) -> str:
    """The signature as the module docstrings write it, computed with the standard library."""
    return b64(hmac.new(KEY.encode(), message, hashlib.sha256).digest()[:16])


@pytest.mark.parametrize("key", [b"", b"k", b"x" * 64, b"y" * 65, "ключ-🔑".encode() * 20])
def test_the_signature_is_hmac_sha256(key: bytes) -> None:
    for message in (b"", b"tidings/1\0open\0042\0", bytes(range(256)) * 3):
        assert _Hmac(key).digest(message) == hmac.new(key, message, hashlib.sha256).digest()


def test_every_kind_of_link_keeps_its_documented_signature() -> None:
    """Links already sent must go on verifying: each kind signs exactly its domain and parts, NUL-separated."""
    tracker, polls = Tracker(KEY, PUBLIC), PollLinks(KEY, PUBLIC)
    url = "https://shop.example/sale?x=ü"
    assert tracker.token("open", 42) == "42." + documented(b"tidings/1\x00open\x0042\x00")
    assert tracker.token("unsubscribe", 7) == "7." + documented(b"tidings/1\x00unsubscribe\x007\x00")
    encoded_url = b64(url.encode())
    click = documented(b"tidings/1\x00click\x009\x00" + url.encode())
    assert tracker.token("click", 9, url) == f"9.{encoded_url}.{click}"
    poll = documented("tidings/poll\x00POLL-3\x00Ānna".encode())
    assert polls.token("POLL-3", "Ānna") == f"POLL-3.{b64('Ānna'.encode())}.{poll}"
