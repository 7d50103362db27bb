"""Tracking: signed tokens, HTML rewriting, the status rules, and a campaign sent through a real SMTP server whose
pixel, link and one-click unsubscribe are then followed through the real HTTP app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select, update

from tests.api.conftest import serve
from tests.delivery.conftest import SmtpServer
from tests.engine.helpers import add_customers, advance, campaign, message_count, start, trace
from tidings.api.app import create_app
from tidings.core.clock import ManualClock
from tidings.delivery.tracking import Tracker, with_utm
from tidings.services import Services
from tidings.settings import DEVELOPMENT_SECRET_KEY, Settings
from tidings.store.tables import channel_subscriptions, loyalty_requests, messages
from tidings.store.tracking import Event, TrackingEvent, record_events

KEY = "a-test-key-that-is-long-enough"
PUBLIC = "https://news.shop.example"
TRACKER = Tracker(KEY, PUBLIC)


# -- tokens ------------------------------------------------------------------------------------------------


def test_tokens_round_trip_per_kind() -> None:
    url = "https://shop.example/sale?x=1&y=ü#top"
    verified = TRACKER.verify("click", TRACKER.token("click", 42, url))
    assert verified is not None and (verified.message_id, verified.url) == (42, url)
    for kind in ("open", "unsubscribe"):
        token = TRACKER.token(kind, 2**63 - 1)
        assert re.fullmatch(r"9223372036854775807\.[A-Za-z0-9_-]{22}", token)
        result = TRACKER.verify(kind, token)
        assert result is not None and (result.message_id, result.url) == (2**63 - 1, "")
    assert TRACKER.open_url(7) == f"{PUBLIC}/t/o/{TRACKER.token('open', 7)}.gif"
    assert TRACKER.click_url(7, url) == f"{PUBLIC}/t/c/{TRACKER.token('click', 7, url)}"
    assert TRACKER.unsubscribe_url(7) == f"{PUBLIC}/api/v1/unsubscribe/{TRACKER.token('unsubscribe', 7)}"
    assert Tracker(KEY, PUBLIC + "/").open_url(7) == TRACKER.open_url(7)


def forgeries() -> list[tuple[str, str]]:
    """(kind, token) pairs that must all be refused."""
    opened = TRACKER.token("open", 42)
    click = TRACKER.token("click", 42, "https://shop.example/")
    digits, encoded, signature = click.split(".")
    other = "https://evil.example/"
    other_encoded = TRACKER.token("click", 42, other).split(".")[1]
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    return [
        ("open", opened.replace("42.", "43.")),  # another message
        ("open", opened[:-1] + ("A" if opened[-1] != "A" else "B")),  # tampered signature
        ("unsubscribe", opened),  # an open token replayed as an unsubscribe
        ("open", TRACKER.token("unsubscribe", 42)),
        ("open", Tracker("another-key-long-enough", PUBLIC).token("open", 42)),  # another key
        ("open", Tracker(DEVELOPMENT_SECRET_KEY, PUBLIC).token("open", 42)),
        ("click", f"{digits}.{other_encoded}.{signature}"),  # a redirect to elsewhere
        ("click", f"{digits}.{encoded}.{flipped}"),
        ("click", opened),
        ("open", click),
        ("open", ""),
        ("open", "."),
        ("open", "42"),
        ("open", "042." + opened.split(".")[1]),  # not the canonical number
        ("open", "0." + opened.split(".")[1]),
        ("open", "99999999999999999999." + opened.split(".")[1]),  # beyond 64 bits
        ("open", "-1." + opened.split(".")[1]),
        ("open", opened + ".x"),
        ("open", "42." + "A" * 21),
        ("open", "42." + "A" * 23),
        ("open", "42.ÄAAAAAAAAAAAAAAAAAAAAA"),
        ("click", f"{digits}.{encoded}=.{signature}"),
        ("click", f"{digits}..{signature}"),
        ("click", f"{digits}.%2F.{signature}"),
        ("click", f"{digits}.{'_' * 3}.{signature}"),  # not UTF-8 once decoded
        ("click", f"{digits}.{encoded}.{signature}" + "A" * 20_000),
        ("click", TRACKER.token("click", 42, "javascript:alert(1)")),  # signed, but never a web URL
    ]


@pytest.mark.parametrize(("kind", "token"), forgeries())
def test_forged_tampered_and_malformed_tokens_are_refused(kind: Any, token: str) -> None:
    assert TRACKER.verify(kind, token) is None


# -- rewriting ---------------------------------------------------------------------------------------------


class Links(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":  # the first href counts, as in a browser
            self.hrefs.append(next((value or "" for name, value in attrs if name == "href"), ""))
        if tag == "img":
            self.images.append(dict(attrs))


def destinations(html: str) -> list[str]:
    """Each link's destination: the signed URL of a click link, the href of any other."""
    result = []
    for href in Links(html).hrefs:
        verified = TRACKER.verify("click", href.removeprefix(f"{PUBLIC}/t/c/"))
        if verified is not None:
            assert verified.message_id == 5
        result.append(href if verified is None else f"tracked:{verified.url}")
    return result


def test_links_are_rewritten_and_everything_else_is_left_alone() -> None:
    unsubscribe = TRACKER.unsubscribe_url(5)
    html = (
        '<html><head><style>a[href="https://css.example/"] {}</style></head><body>'
        '<p><a class="btn" href="https://shop.example/sale?a=1&amp;b=2#top" title="a > b">Sale</a>'
        "<A HREF='http://Shop.example/x'>upper, single quotes</A>"
        "<a href=https://shop.example/unquoted target=_blank>unquoted</a>"
        '<a data-href="https://no.example/" href=" https://shop.example/spaced\n ">spaces and a newline</a>'
        '<a href="https://first.example/" href="https://second.example/">first wins</a>'
        '<a href="mailto:help@shop.example">mail</a><a href="tel:+37120000000">call</a>'
        '<a href="#section">anchor</a><a href="/relative">relative</a><a href="">empty</a><a name="x">none</a>'
        '<a href="javascript:void(0)">js</a><abbr title="https://abbr.example/">abbr</abbr>'
        f'<a href="{unsubscribe}">Unsubscribe</a>'
        f'<a href="{PUBLIC}/t/c/already">already tracked</a>'
        '<!-- <a href="https://comment.example/">hidden</a> -->'
        "<script>var a = '<a href=\"https://script.example/\">';</script></p>"
        "</body></html>"
    )
    tracked = TRACKER.track(html, 5)
    assert destinations(tracked) == [
        "tracked:https://shop.example/sale?a=1&b=2#top",
        "tracked:http://Shop.example/x",
        "tracked:https://shop.example/unquoted",
        "tracked:https://shop.example/spaced",
        "tracked:https://first.example/",
        "mailto:help@shop.example",
        "tel:+37120000000",
        "#section",
        "/relative",
        "",
        "",
        "javascript:void(0)",
        unsubscribe,
        f"{PUBLIC}/t/c/already",
    ]
    # what is not a link stays byte for byte, attributes around a rewritten href too
    assert '<a class="btn" href="https://news.shop.example/t/c/5.' in tracked
    assert '" title="a > b">Sale</a>' in tracked
    assert "target=_blank>unquoted</a>" in tracked
    assert 'data-href="https://no.example/"' in tracked
    assert 'href="https://second.example/"' in tracked
    for kept in ("css.example", "abbr.example", "comment.example", "script.example"):
        assert tracked.count(kept) == html.count(kept)


def test_utm_parameters_are_appended_to_tracked_links_only_where_missing() -> None:
    utm = {"utm_source": "tidings", "utm_medium": "email", "utm_campaign": "winter sale"}
    html = (
        '<a href="https://shop.example/">plain</a>'
        '<a href="https://shop.example/p?id=7&amp;utm_campaign=spring#reviews">own campaign</a>'
        '<a href="mailto:a@shop.example">mail</a>'
    )
    assert destinations(TRACKER.track(html, 5, utm)) == [
        "tracked:https://shop.example/?utm_source=tidings&utm_medium=email&utm_campaign=winter%20sale",
        "tracked:https://shop.example/p?id=7&utm_campaign=spring&utm_source=tidings&utm_medium=email#reviews",
        "mailto:a@shop.example",
    ]
    assert with_utm("https://a.example/?utm_source=x", {"utm_source": "y"}) == "https://a.example/?utm_source=x"
    # the same tag in a send without UTM, and in another message: each gets its own link
    assert destinations(TRACKER.track(html, 5)) == [
        "tracked:https://shop.example/",
        "tracked:https://shop.example/p?id=7&utm_campaign=spring#reviews",
        "mailto:a@shop.example",
    ]
    assert TRACKER.track(html, 6, utm) != TRACKER.track(html, 5, utm).replace("/5.", "/6.")  # signed per message


def test_destinations_are_ascii_urls() -> None:
    html = '<a href="https://Bücher.example/straße?q=grüße heiß">idn</a>'
    assert destinations(TRACKER.track(html, 5)) == [
        "tracked:https://xn--bcher-kva.example/stra%C3%9Fe?q=gr%C3%BC%C3%9Fe%20hei%C3%9F"
    ]


def test_the_pixel_goes_before_the_last_closing_body_tag_or_at_the_end() -> None:
    pixel = (
        f'<img src="{TRACKER.open_url(5)}" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0">'
    )
    logo = '<img src="https://shop.example/logo.png" alt="Shop">'
    assert TRACKER.track(f"<p>Hi</p>{logo}", 5) == f"<p>Hi</p>{logo}{pixel}"
    assert (
        TRACKER.track(f"<html><BODY>{logo}<p>Hi</p></BODY ></html>", 5)
        == f"<html><BODY>{logo}<p>Hi</p>{pixel}</BODY ></html>"
    )
    quoted = f"<body>{logo}<pre>&lt;/body&gt;</pre><!-- </body> --></body>"
    assert TRACKER.track(quoted, 5) == f"<body>{logo}<pre>&lt;/body&gt;</pre><!-- </body> -->{pixel}</body>"
    images = [image["src"] for image in Links(TRACKER.track(f"{logo}<p>x</p>", 5)).images]
    assert images == ["https://shop.example/logo.png", TRACKER.open_url(5)]


def test_the_pixel_is_never_the_only_image() -> None:
    """A mail whose only image is the pixel reads as image-only to spam filters (HTML_IMAGE_ONLY_*): without an
    image of its own it goes without; an image in a comment, a script or a style does not count; and a node that
    does not count opens never gets one."""
    assert TRACKER.track("<p>Hi</p>", 5) == "<p>Hi</p>"
    assert TRACKER.track('<p>Hi</p><!-- <img src="x.png"> -->', 5) == '<p>Hi</p><!-- <img src="x.png"> -->'
    assert TRACKER.track("<style>img {border: 0}</style><p>Hi</p>", 5).count("<img") == 0
    with_logo = '<p>Hi</p><IMG SRC="https://shop.example/logo.png">'
    assert TRACKER.track(with_logo, 5).count(TRACKER.open_url(5)) == 1
    assert TRACKER.track(with_logo, 5, pixel=False) == with_logo


def test_the_development_key_is_the_default_and_a_short_key_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    assert Settings().secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY
    assert KEY not in repr(Settings(secret_key=KEY))
    with pytest.raises(ValueError, match="TIDINGS_SECRET_KEY must be at least 16 characters"):
        Settings(secret_key="short")
    assert Tracker.from_settings(Settings(secret_key=KEY, public_url=PUBLIC)).open_url(1) == TRACKER.open_url(1)


# -- status rules --------------------------------------------------------------------------------------------


def sent_messages(services: Services, count: int) -> list[int]:
    rows = [{"external_id": f"c{n}", "email": f"c{n}@example.com", "first_name": f"C{n}"} for n in range(count)]
    add_customers(services, *rows)
    document = campaign(
        {"id": "e1", "type": "send_email", "config": {"subject": "Hi", "body_html": "<p>Hi</p>"}},
        edges=[("trigger", "e1")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, [row["external_id"] for row in rows], None)
    advance(services, minutes=1)
    with services.db.engine.connect() as conn:
        return list(conn.execute(select(messages.c.id).order_by(messages.c.id)).scalars())


SEQUENCES: list[tuple[list[Event], str, set[str]]] = [
    # events in order → final status, time columns set
    (["delivered"], "delivered", {"delivered_at"}),
    (["open"], "opened", {"delivered_at", "opened_at"}),
    (["click"], "clicked", {"delivered_at", "opened_at", "clicked_at"}),
    (["click", "open"], "clicked", {"delivered_at", "opened_at", "clicked_at"}),
    (["open", "delivered"], "opened", {"delivered_at", "opened_at"}),
    (["click", "delivered", "open"], "clicked", {"delivered_at", "opened_at", "clicked_at"}),
    (["bounced"], "bounced", {"bounced_at"}),
    (["delivered", "bounced"], "bounced", {"delivered_at", "bounced_at"}),
    (["bounced", "open", "click", "delivered"], "bounced", {"bounced_at", "delivered_at", "opened_at", "clicked_at"}),
    (["open", "bounced"], "opened", {"delivered_at", "opened_at", "bounced_at"}),
    (["spam"], "sent", {"complained_at"}),
    (["click", "spam"], "clicked", {"delivered_at", "opened_at", "clicked_at", "complained_at"}),
    (["unsubscribed", "open"], "opened", {"unsubscribed_at", "delivered_at", "opened_at"}),
]
SETS: dict[str, tuple[str, ...]] = {
    "delivered": ("delivered_at",),
    "open": ("opened_at", "delivered_at"),
    "click": ("clicked_at", "opened_at", "delivered_at"),
    "bounced": ("bounced_at",),
    "spam": ("complained_at",),
    "unsubscribed": ("unsubscribed_at",),
}
TIMES = ("delivered_at", "opened_at", "clicked_at", "bounced_at", "complained_at", "unsubscribed_at")


def test_statuses_only_move_forward(services: Services) -> None:
    ids = sent_messages(services, len(SEQUENCES))
    start_at = services.clock.now()
    for message_id, (sequence, _, _) in zip(ids, SEQUENCES, strict=True):
        for step, event in enumerate(sequence):  # one batch per event, an hour apart
            at = start_at + timedelta(hours=step + 1)
            with services.db.engine.begin() as conn:
                record_events(conn, services.db.dialect, [TrackingEvent(message_id, event, at)], now=at)
    with services.db.engine.connect() as conn:
        rows = conn.execute(select(messages).order_by(messages.c.id)).mappings().all()
    for row, (sequence, status, times) in zip(rows, SEQUENCES, strict=True):
        assert (sequence, row["status"]) == (sequence, status)
        assert (sequence, {name for name in TIMES if row[name] is not None}) == (sequence, times)
        earliest: dict[str, Any] = {}
        for step, event in enumerate(sequence):
            for name in SETS[event]:
                earliest.setdefault(name, start_at + timedelta(hours=step + 1))
        assert (sequence, {name: row[name] for name in times}) == (sequence, earliest)


def test_a_batch_keeps_the_earliest_time_and_does_not_depend_on_order(services: Services) -> None:
    first, second, failed, queued = sent_messages(services, 4)
    now = services.clock.now()
    with services.db.engine.begin() as conn:
        conn.execute(update(messages).where(messages.c.id == failed).values(status="failed", error="interrupted"))
        conn.execute(update(messages).where(messages.c.id == queued).values(status="queued"))
    late, early = now + timedelta(hours=2), now + timedelta(hours=1)
    batch = [
        TrackingEvent(first, "open", late),
        TrackingEvent(first, "click", late),
        TrackingEvent(first, "open", early),
        TrackingEvent(second, "bounced", early),
        TrackingEvent(second, "open", late),  # engagement is applied first: the open proves delivery
        TrackingEvent(failed, "delivered", early),  # an interrupted send did arrive
        TrackingEvent(queued, "open", early),  # not recorded as sent yet: only the times
    ]
    with services.db.engine.begin() as conn:
        record_events(conn, services.db.dialect, batch, now=late)
    with services.db.engine.connect() as conn:
        rows = {row["id"]: row for row in conn.execute(select(messages)).mappings()}
    assert (rows[first]["status"], rows[first]["opened_at"], rows[first]["clicked_at"]) == ("clicked", early, late)
    assert rows[first]["delivered_at"] == early
    assert (rows[second]["status"], rows[second]["bounced_at"], rows[second]["opened_at"]) == ("opened", early, late)
    assert (rows[failed]["status"], rows[failed]["delivered_at"]) == ("delivered", early)
    assert (rows[queued]["status"], rows[queued]["opened_at"]) == ("queued", early)


def test_spam_and_unsubscribe_turn_the_channel_off_once_per_customer(services: Services) -> None:
    ids = sent_messages(services, 3)
    now = services.clock.now()
    batch = [TrackingEvent(ids[0], "spam", now), TrackingEvent(ids[0], "unsubscribed", now)]
    batch.append(TrackingEvent(ids[1], "unsubscribed", now))
    with services.db.engine.begin() as conn:
        record_events(conn, services.db.dialect, batch, now=now)
        record_events(conn, services.db.dialect, batch, now=now)  # again: harmless
    with services.db.engine.connect() as conn:
        channels = conn.execute(
            select(messages.c.id, channel_subscriptions.c.channel, channel_subscriptions.c.status)
            .join(channel_subscriptions, channel_subscriptions.c.customer_id == messages.c.customer_id)
            .order_by(messages.c.id)
        ).all()
        synced = conn.execute(
            select(loyalty_requests.c.customer_id, loyalty_requests.c.kind, loyalty_requests.c.payload).order_by(
                loyalty_requests.c.customer_id
            )
        ).all()
        customer_ids = conn.execute(select(messages.c.customer_id).order_by(messages.c.id)).scalars().all()
    assert [tuple(row) for row in channels] == [(ids[0], "email", "N"), (ids[1], "email", "N")]
    # turning the channel off reaches the loyalty programme, once per customer (E22)
    payload = {"type": "Mailings", "channel": "email", "active": False}
    assert [tuple(row) for row in synced] == [(c, "subscription", payload) for c in customer_ids[:2]]


# -- the whole way: SMTP out, HTTP back ------------------------------------------------------------------------

BODY = (
    '<html><body><img src="https://shop.example/logo.png" alt="Shop"><p>Hi {{ customer.first_name }},</p>'
    '<p><a href="https://shop.example/sale?ref=mail">Winter sale</a> · '
    '<a href="mailto:help@shop.example">Write to us</a></p>'
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>'
)
UTM = "utm_source=tidings&utm_medium=email&utm_campaign=winter"


@pytest.fixture
def tracked_services(database_url: str, clock: ManualClock, smtp_server: SmtpServer) -> Iterator[Services]:
    settings = Settings(
        database_url=database_url,
        clock="manual",
        email_provider="smtp",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        public_url=PUBLIC,
        secret_key=KEY,
    )
    built = Services.build(settings, clock=clock)
    yield built
    built.close()


def email_campaign(services: Services, node_id: str) -> int:
    node = {
        "id": node_id,
        "type": "send_email",
        "config": {
            "subject": "Winter sale for {{ customer.first_name }}",
            "body_html": BODY,
            "utm": {"source": "tidings", "medium": "email", "campaign": "winter"},
        },
    }
    return start(services, campaign(node, edges=[("trigger", node_id)]))


def message_row(services: Services, message_id: int) -> dict[str, Any]:
    with services.db.engine.connect() as conn:
        return dict(conn.execute(select(messages).where(messages.c.id == message_id)).mappings().one())


def test_an_email_goes_out_over_smtp_and_its_pixel_link_and_unsubscribe_come_back(
    tracked_services: Services, smtp_server: SmtpServer
) -> None:
    services = tracked_services
    ann = add_customers(services, {"external_id": "ann", "email": "ann@example.com", "first_name": "Ann"})["ann"]
    first = email_campaign(services, "e1")
    services.campaigns.enroll(first, ["ann"], None)
    advance(services, minutes=1)

    # what the SMTP server received
    (received,) = smtp_server.received
    mail = received.message
    assert str(mail["Subject"]) == "Winter sale for Ann"
    html_part = mail.get_body(preferencelist=("html",))
    assert html_part is not None
    html = html_part.get_content()
    assert "<p>Hi Ann,</p>" in html
    with services.db.engine.connect() as conn:
        message_id = conn.execute(select(messages.c.id).where(messages.c.customer_id == ann)).scalar_one()
    message = message_row(services, message_id)
    assert message["status"] == "sent"
    assert message["body"] == html.removesuffix("\r\n")  # the stored body is the tracked HTML as sent

    links = Links(html)
    sale, mail_to, unsubscribe = links.hrefs
    assert sale.startswith(f"{PUBLIC}/t/c/{message_id}.")
    assert mail_to == "mailto:help@shop.example"
    assert unsubscribe == TRACKER.unsubscribe_url(message_id)
    logo, pixel = [image["src"] for image in links.images]
    assert logo == "https://shop.example/logo.png"
    assert pixel == f"{PUBLIC}/t/o/{TRACKER.token('open', message_id)}.gif"
    assert re.search(r'<img src="[^"]+" width="1" height="1"[^>]*></body></html>', html)
    assert mail["List-Unsubscribe"].endswith(f", <{unsubscribe}>")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    plain = mail.get_body(preferencelist=("plain",))
    assert plain is not None and "Winter sale (https://news.shop.example/t/c/" in plain.get_content()

    # the recipient's mail client and browser talk to the real app; PUBLIC stands for wherever it is served
    with serve(create_app(services=services)) as origin, httpx.Client(timeout=30, trust_env=False) as http:

        def fetch(method: str, url: str, **options: Any) -> httpx.Response:
            parts = urlsplit(url)
            assert f"{parts.scheme}://{parts.netloc}" == PUBLIC
            return http.request(method, origin + parts.path, **options)

        advance(services, hours=1)
        opened = fetch("GET", pixel)
        assert (opened.status_code, opened.headers["content-type"]) == (200, "image/gif")
        assert opened.content.startswith(b"GIF89a") and "no-store" in opened.headers["cache-control"]
        row = message_row(services, message_id)
        assert (row["status"], row["opened_at"], row["delivered_at"]) == (
            "opened",
            services.clock.now(),
            services.clock.now(),
        )
        opened_at = row["opened_at"]

        advance(services, hours=1)
        clicked = fetch("GET", sale)
        assert clicked.status_code == 302
        assert clicked.headers["location"] == f"https://shop.example/sale?ref=mail&{UTM}"
        row = message_row(services, message_id)
        assert (row["status"], row["clicked_at"], row["opened_at"]) == ("clicked", services.clock.now(), opened_at)

        advance(services, hours=1)
        assert fetch("GET", pixel).status_code == 200  # opened again after the click
        assert fetch("GET", sale).status_code == 302
        row = message_row(services, message_id)
        assert (row["status"], row["opened_at"]) == ("clicked", opened_at)

        # the unsubscribe link in the body shows a page first: link scanners must not unsubscribe anyone
        page = fetch("GET", unsubscribe)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<form method="post">' in page.text
        assert subscription(services, ann) is None
        # RFC 8058: the mail client posts List-Unsubscribe=One-Click to the header's URL
        header_url = mail["List-Unsubscribe"].split(", <")[1].rstrip(">")
        done = fetch(
            "POST",
            header_url,
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert done.status_code == 200, done.text
        assert "unsubscribed" in done.text
        assert subscription(services, ann) == "N"
        row = message_row(services, message_id)
        assert (row["status"], row["unsubscribed_at"]) == ("clicked", services.clock.now())

        # forged and tampered links lead nowhere
        for url in (pixel.replace(f"/{message_id}.", f"/{message_id + 1}."), sale[:-2] + "xx", unsubscribe + "x"):
            refused = fetch("GET", url)
            assert refused.status_code == 404
            assert refused.json()["error"]["code"] == "tracking.not_found"

    # a later e-mail to Ann is not sent: she unsubscribed from the channel
    second = email_campaign(services, "e2")
    services.campaigns.enroll(second, ["ann"], None)
    advance(services, minutes=1)
    assert trace(services, ann)[-1] == ("e2", "dropped", None, "unsubscribed_channel")
    assert message_count(services, "e2") == 0
    assert len(smtp_server.received) == 1


def subscription(services: Services, customer_id: int) -> str | None:
    query = select(channel_subscriptions.c.status).where(
        channel_subscriptions.c.customer_id == customer_id, channel_subscriptions.c.channel == "email"
    )
    with services.db.engine.connect() as conn:
        return conn.execute(query).scalar_one_or_none()


def test_stray_markup_in_customer_data_is_left_as_it_is() -> None:
    """Text a customer typed may hold '<a ', quotes or an unclosed comment: nothing of it is taken for a link
    (an unclosed comment or script hides the rest, as it does in a browser)."""
    link = '<a href="https://shop.example/">shop</a>'
    stray = 'Notes: <a <a href="x <a title=">"'
    tracked = TRACKER.track(f"<p>{stray} {link}</p>", 5)
    assert tracked.startswith(f'<p>{stray} <a href="{TRACKER.click_url(5, "https://shop.example/")}">shop</a>')

    hidden = TRACKER.track(f"<img src='logo.png'>{link}<!-- unclosed {link}", 5)
    assert hidden.count(f"{PUBLIC}/t/c/") == 1 and f"<!-- unclosed {link}<img src=" in hidden


def test_untracked_is_the_message_to_look_at_without_the_pixel_and_with_direct_links() -> None:
    html = (
        '<html><body><p><a class="btn" href="https://shop.example/sale?a=1&amp;b=2">Sale</a>'
        f'<a href="{TRACKER.unsubscribe_url(5)}">Unsubscribe</a>'
        '<img src="https://cdn.example/logo.png" alt="Logo"></p></body></html>'
    )
    tracked = TRACKER.track(html, 5)
    assert "/t/o/" in tracked and "/t/c/" in tracked
    shown = TRACKER.untracked(tracked)
    assert "/t/" not in shown  # no pixel, no click link
    assert shown == html  # everything else as it was written
    forged = f'<a href="{PUBLIC}/t/c/5.aHR0cHM6Ly9ldmlsLmV4YW1wbGUv.forged">x</a>'
    assert TRACKER.untracked(forged) == forged  # only our own, genuine links are followed back
    other = Tracker(KEY, "https://other.example").track(html, 5)
    assert TRACKER.untracked(other) == other  # another site's tracking is not ours to remove
