"""The Messages page: looking at a message in the sandbox mailbox counts neither an open nor a click — the page
shows it without the open pixel and with its links leading straight to their destinations."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import BrowserContext, expect

from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import create_campaign

# An image of its own: the open pixel is added only to mail that has one (mail whose only image is the pixel reads
# as image-only to spam filters).
BODY = (
    '<p><img src="https://shop.example/banner.png" alt="Sale banner" width="600"></p>'
    '<p>Our <a href="https://shop.example/sale">sale</a> starts today.</p>'
)


def test_opening_a_message_in_the_mailbox_leaves_it_unopened(context: BrowserContext, api: httpx.Client) -> None:
    customer = {"external_id": "mailbox-eve", "email": "mailbox-eve@example.com"}
    assert api.post("/customers", json={"customers": [customer]}).status_code == 200
    document = {
        "name": "Mailbox look",
        "trigger": {"id": "trigger", "type": "api_enrollment", "config": {}},
        "nodes": [{"id": "e1", "type": "send_email", "config": {"subject": "Sale today", "body_html": BODY}}],
        "edges": [{"source": "trigger", "target": "e1"}],
    }
    campaign = create_campaign(api, document)
    assert api.post(f"/campaigns/{campaign}/activate").status_code == 200
    assert api.post(f"/campaigns/{campaign}/enroll", json={"customers": ["mailbox-eve"]}).status_code == 200
    assert api.post("/clock/advance", json={"by": "PT1M"}).status_code == 200
    [mail] = api.get("/mailbox", params={"recipient": "mailbox-eve@example.com"}).json()["items"]
    assert "/t/o/" in mail["body_html"] and "/t/c/" in mail["body_html"]  # the delivered e-mail is tracked

    page = context.new_page()
    page.goto("/ui/#/messages")
    page.locator('[data-testid="mailbox"] tbody tr', has_text="mailbox-eve@example.com").click()
    body = page.frame_locator(".mail iframe")
    expect(body.get_by_text("starts today")).to_be_visible()
    # what the shown message would fetch or follow: no open pixel, no click link (the e2e server's public URL is
    # not its own address, so a loaded pixel would not reach it: the page itself is what is checked)
    urls = body.locator("img, a").evaluate_all("els => els.map((e) => e.getAttribute('src') || e.getAttribute('href'))")
    assert [url for url in urls if re.search(r"/t/[oc]/", url or "")] == []
    expect(body.get_by_role("link", name="sale")).to_have_attribute("href", "https://shop.example/sale")
    assert_accessible(page, "an open message")
    [message] = api.get("/messages", params={"campaign_id": campaign}).json()["items"]
    assert message["status"] in ("sent", "delivered"), message["status"]
