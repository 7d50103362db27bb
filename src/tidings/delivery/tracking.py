"""Signed tracking links, and the rewriting of an e-mail's HTML so that opens and clicks come back to us.

Every link carries the message id and a signature (``tidings.delivery.signing``) over (kind, message id, url);
a click link also carries the URL it leads to, so nothing has to be stored per link and no one can turn a link
into an open redirect. All parts are URL- and HTML-safe::

    open          {public_url}/t/o/<message id>.<signature>.gif
    click         {public_url}/t/c/<message id>.<base64url(url)>.<signature>
    unsubscribe   {public_url}/api/v1/unsubscribe/<message id>.<signature>

    signature = Signer(key, "tidings/1").sign(kind, message id, url)

The kind is signed, so the token of the open pixel cannot be replayed as an unsubscribe. ``verify`` answers
``None`` for anything malformed, tampered or signed with another key, without saying which.

``Tracker.track`` rewrites every ``<a href>`` to an absolute http(s) URL into a click link (UTM parameters
appended first, when the send asks for them) and appends the 1×1 open pixel before ``</body>`` — only to HTML that
has an image of its own: a short mail whose only image is a tracking pixel is what SpamAssassin's
``HTML_IMAGE_ONLY_*`` rules score as spam, so such a mail goes without, and its opens are not counted. It leaves
alone ``mailto:``, ``tel:``, in-page anchors, relative links, the unsubscribe link and links already tracked,
so following the unsubscribe link is never counted as a click.
"""

from __future__ import annotations

import binascii
import functools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape, unescape
from typing import Literal, get_args
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from tidings.delivery.signing import SIGNATURE, Signer, decode_b64url, encode_b64url
from tidings.settings import DEVELOPMENT_SECRET_KEY, Settings

log = logging.getLogger("tidings.delivery")

Kind = Literal["open", "click", "unsubscribe"]

OPEN_PATH = "/t/o/"
CLICK_PATH = "/t/c/"
UNSUBSCRIBE_PATH = "/api/v1/unsubscribe/"
#: A token longer than this is refused unread (a click token grows with its URL).
MAX_TOKEN_LENGTH = 16_384

_DOMAIN = b"tidings/1"
_MESSAGE_ID = re.compile(r"[1-9][0-9]{0,18}")
_B64 = re.compile(r"[A-Za-z0-9_-]+")
_MAX_ID = 2**63 - 1
_ANCHOR_CACHE_SIZE = 10_000

# The HTML we look at: comments and script/style blocks (skipped whole, so a link inside them is not touched; left
# unclosed, they run to the end, as in a browser) and <a> start tags, whose quoted attribute values may hold '>'.
# An <a> tag must close within 4,000 characters (one bounded look ahead) and its parts are possessive, so stray
# '<a ' or quotes in customer data cost a bounded scan each, never a search over the rest of the body.
_MARKUP = re.compile(  # one literal '<' first, so the engine skips plain text fast
    r"<(?:!--.*?(?:-->|\Z)|(script|style)\b.*?(?:</\1\s*>|\Z)"
    r"|a(?=[\s>/])(?=[^>]{0,4000}+>)(?>[^>\"']++|\"[^\"]*+\"|'[^']*+')*+>)",
    re.IGNORECASE | re.DOTALL,
)
_ATTRIBUTE = re.compile(r"""([^\s"'>/=]+)(?:(\s*=\s*)("[^"]*"|'[^']*'|[^\s"'=<>`]*))?""")
_IMAGES = re.compile(r"<(?:!--.*?(?:-->|\Z)|(script|style)\b.*?(?:</\1\s*>|\Z)|img\b)", re.IGNORECASE | re.DOTALL)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
# WHATWG URL parsing drops these anywhere in a URL, and C0 controls and spaces at its ends.
_URL_NOISE = re.compile(r"[\t\n\r]")
_URL_EDGES = "".join(map(chr, range(0x21)))
# Characters a URL may carry as they are; everything else (spaces, non-ASCII, controls) is percent-encoded.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"


@dataclass(frozen=True)
class Verified:
    message_id: int
    url: str  # the destination of a click link; "" for the other kinds


class Tracker:
    """Signs and verifies tracking tokens and rewrites HTML; one per process, shared by delivery and the API."""

    def __init__(self, secret_key: str, public_url: str) -> None:
        signer = Signer(secret_key, _DOMAIN)
        # The kind is signed first, so one kind's token is never taken for another's.
        self._signers: dict[Kind, Signer] = {kind: signer.under(kind.encode("ascii")) for kind in get_args(Kind)}
        self.public_url = public_url.rstrip("/")
        self._skipped_prefixes = (f"{self.public_url}{UNSUBSCRIBE_PATH}", f"{self.public_url}/t/")
        base = re.escape(self.public_url)
        self._our_pixel = re.compile(rf"""<img\b[^>]*?\ssrc=["']{base}{re.escape(OPEN_PATH)}[^"'>]*["'][^>]*>""", re.I)
        self._our_click = re.compile(rf"{base}{re.escape(CLICK_PATH)}([A-Za-z0-9_.-]+)")
        self._anchors: dict[tuple[str, tuple[tuple[str, str], ...]], _Anchor | None] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Tracker:
        secret = settings.secret_key.get_secret_value()
        if secret == DEVELOPMENT_SECRET_KEY:
            _warn_development_key()
        return cls(secret, settings.public_url)

    # -- tokens --------------------------------------------------------------------------------------------

    def token(self, kind: Kind, message_id: int, url: str = "") -> str:
        if kind == "click":
            raw, encoded = _encoded(url)
            return f"{message_id}.{encoded}.{self._signers[kind].sign(b'%d' % message_id, raw)}"
        return f"{message_id}.{self._signers[kind].sign(b'%d' % message_id, b'')}"

    def verify(self, kind: Kind, token: str) -> Verified | None:
        """The message id (and URL) a genuine token of ``kind`` carries; None for anything else."""
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        parts = token.split(".")
        url = ""
        if kind == "click":
            if len(parts) != 3 or not _B64.fullmatch(parts[1]):
                return None
            try:
                url = decode_b64url(parts[1]).decode("utf-8")
            except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
                return None
            if not _is_web_url(url):
                return None
        elif len(parts) != 2:
            return None
        digits, signature = parts[0], parts[-1]
        if not _MESSAGE_ID.fullmatch(digits) or not SIGNATURE.fullmatch(signature):
            return None
        message_id = int(digits)
        if message_id > _MAX_ID:
            return None
        if not self._signers[kind].verify(signature, b"%d" % message_id, url.encode("utf-8")):
            return None
        return Verified(message_id, url)

    def open_url(self, message_id: int) -> str:
        return f"{self.public_url}{OPEN_PATH}{self.token('open', message_id)}.gif"

    def click_url(self, message_id: int, url: str) -> str:
        return f"{self.public_url}{CLICK_PATH}{self.token('click', message_id, url)}"

    def unsubscribe_url(self, message_id: int) -> str:
        return f"{self.public_url}{UNSUBSCRIBE_PATH}{self.token('unsubscribe', message_id)}"

    # -- HTML ----------------------------------------------------------------------------------------------

    def track(
        self, body_html: str, message_id: int, utm: Mapping[str, str] | None = None, *, pixel: bool = True
    ) -> str:
        """``body_html`` with its links turned into click links and, if ``pixel`` and it has an image of its own,
        the open pixel added."""
        parameters = tuple(utm.items()) if utm else ()

        def rewrite(match: re.Match[str]) -> str:
            tag = match.group(0)
            return self._rewrite_anchor(tag, message_id, parameters) if tag[1] in "aA" else tag

        tracked = _MARKUP.sub(rewrite, body_html)
        if not pixel or not has_image(body_html):
            return tracked
        return self._add_pixel(tracked, message_id)

    def untracked(self, body_html: str) -> str:
        """``body_html`` (as ``track`` made it) the way the workspace shows it: without our open pixel, and with each
        of our click links leading straight to its destination, so that looking at a message counts neither an
        open nor a click. A link that does not verify is left as it is."""

        def direct(match: re.Match[str]) -> str:
            verified = self.verify("click", match.group(1))
            return escape(verified.url, quote=True) if verified else match.group(0)

        return self._our_click.sub(direct, self._our_pixel.sub("", body_html))

    def _rewrite_anchor(self, tag: str, message_id: int, utm: tuple[tuple[str, str], ...]) -> str:
        key = (tag, utm)
        try:
            anchor = self._anchors[key]
        except KeyError:  # the same tags recur in every message of a campaign: parse each once
            anchor = self._parse_anchor(tag, utm)
            if not any(prefix in tag for prefix in self._skipped_prefixes):  # not one message's own link
                if len(self._anchors) >= _ANCHOR_CACHE_SIZE:
                    self._anchors.clear()
                self._anchors[key] = anchor
        if anchor is None:
            return tag
        signature = self._signers["click"].sign(b"%d" % message_id, anchor.url)
        return f"{anchor.head}{message_id}{anchor.middle}{signature}{anchor.tail}"

    def _parse_anchor(self, tag: str, utm: tuple[tuple[str, str], ...]) -> _Anchor | None:
        """The tag around its click link, or None if the tag is left alone."""
        for attribute in _ATTRIBUTE.finditer(tag, 2):
            if attribute.group(1).lower() != "href":
                continue
            value = attribute.group(3)
            if not value:
                return None
            raw = value[1:-1] if value[0] in "\"'" else value
            destination = self._destination(unescape(raw), utm)
            if destination is None:
                return None
            url, encoded = _encoded(destination)  # only the first href counts
            head = f'{tag[: attribute.start(3)]}"{self.public_url}{CLICK_PATH}'
            return _Anchor(head, f".{encoded}.", url, f'"{tag[attribute.end(3) :]}')
        return None

    def _destination(self, url: str, utm: tuple[tuple[str, str], ...]) -> str | None:
        """Where a click link for ``url`` leads, or None if the link is not tracked."""
        url = _URL_NOISE.sub("", url).strip(_URL_EDGES)
        if url.startswith(self._skipped_prefixes):
            return None
        return _web_destination(url, utm)

    def _add_pixel(self, body_html: str, message_id: int) -> str:
        pixel = (
            f'<img src="{self.open_url(message_id)}" width="1" height="1" alt="" '
            'style="display:block;width:1px;height:1px;border:0">'
        )
        ends = [match.start() for match in _BODY_END.finditer(body_html)]
        if not ends:
            return body_html + pixel
        return body_html[: ends[-1]] + pixel + body_html[ends[-1] :]


def has_image(body_html: str) -> bool:
    """Whether the HTML shows an image of its own (an ``<img>`` outside comments, scripts and styles)."""
    return any(match.group(0)[1:4].lower() == "img" for match in _IMAGES.finditer(body_html))


@dataclass(frozen=True, slots=True)
class _Anchor:
    """An ``<a>`` tag whose link is tracked, as parts around a message's click token: the tag with its click link
    is ``{head}{message id}{middle}{signature}{tail}``, the signature over ``url`` (``Tracker.click_url``)."""

    head: str
    middle: str
    url: bytes
    tail: str


@functools.lru_cache(maxsize=4096)
def _encoded(url: str) -> tuple[bytes, str]:
    """The URL's bytes (signed) and their unpadded base64url (carried in the click token)."""
    raw = url.encode("utf-8")
    return raw, encode_b64url(raw)


@functools.lru_cache(maxsize=4096)  # the same links recur in every message of a campaign
def _web_destination(url: str, utm: tuple[tuple[str, str], ...]) -> str | None:
    """An absolute http(s) ``url`` with the UTM parameters, as ASCII; None for any other kind of link."""
    if not _is_web_url(url):
        return None
    if utm:
        url = with_utm(url, dict(utm))
    return quote(_idna_host(url), safe=_URL_SAFE)


def with_utm(url: str, utm: Mapping[str, str]) -> str:
    """``url`` with the UTM parameters it does not already carry appended to its query."""
    parts = urlsplit(url)
    present = {name for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
    missing = [(name, value) for name, value in utm.items() if name not in present]
    if not missing:
        return url
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=query + urlencode(missing, quote_via=quote)))


def _idna_host(url: str) -> str:
    """``https://bücher.example/`` → ``https://xn--bcher-kva.example/`` (the rest is percent-encoded later)."""
    parts = urlsplit(url)
    if parts.netloc.isascii():
        return url
    userinfo, at, hostport = parts.netloc.rpartition("@")
    host, colon, port = hostport.partition(":") if not hostport.startswith("[") else (hostport, "", "")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:  # not a valid internationalised name: percent-encoding will keep it ASCII anyway
        return url
    return urlunsplit(parts._replace(netloc=f"{userinfo}{at}{host}{colon}{port}"))


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


@functools.cache
def _warn_development_key() -> None:
    log.warning(
        "TIDINGS_SECRET_KEY is not set: tracking and unsubscribe links are signed with the public development "
        "key, so anyone can forge them; set TIDINGS_SECRET_KEY to a long random value in production"
    )
