"""The Customers page: a paged list, found by e-mail; a customer's profile in words, and each journey told step by
step with the titles typed for the nodes and why a customer was not sent to."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import create_campaign

HI = {"body_html": "<p>Hi</p>"}
DOCUMENT = {
    "name": "Find me welcome",
    "trigger": {"id": "trigger", "type": "api_enrollment", "config": {}},
    "nodes": [
        {
            "id": "f1",
            "type": "filter_customers",
            "title": "Lives in Riga?",
            "config": {"condition": {"all": [{"field": "city", "op": "equals", "value": "Riga"}]}},
        },
        {
            "id": "e1",
            "type": "send_email",
            "title": "Sveiki",
            "config": {"subject": "Sveiki", "body_html": "<p>Hi</p>"},
        },
        {"id": "e2", "type": "send_email", "title": "Hello", "config": {"subject": "Hello", **HI}},
    ],
    "edges": [
        {"source": "trigger", "target": "f1"},
        {"source": "f1", "source_port": "yes", "target": "e1"},
        {"source": "f1", "source_port": "no", "target": "e2"},
    ],
}


def test_find_a_customer_by_email_and_read_their_journeys_in_words(page: Page, api: httpx.Client) -> None:
    people = [
        {"external_id": "find-ann", "first_name": "Ann", "last_name": "Ozola", "email": "ann.ozola@example.com"},
        {"external_id": "find-bob", "first_name": "Bob", "city": "Tallinn"},  # no e-mail address
    ]
    people[0]["city"] = "Riga"
    crowd = [{"external_id": f"find-crowd-{n:02}", "first_name": "Crowd"} for n in range(55)]
    assert api.post("/customers", json={"customers": people + crowd}).status_code == 200
    campaign = create_campaign(api, DOCUMENT)
    assert api.post(f"/campaigns/{campaign}/activate").status_code == 200
    assert api.post(f"/campaigns/{campaign}/enroll", json={"customers": ["find-ann", "find-bob"]}).status_code == 200
    assert api.post("/clock/advance", json={"by": "PT1M"}).status_code == 200

    page.goto("/ui/#/customers")
    rows = page.locator('[data-testid="customers"] tbody tr')
    expect(rows).to_have_count(50)  # a page at a time
    expect(page.get_by_test_id("page-range")).to_have_text("1–50")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_test_id("page-range")).to_contain_text("51–")

    page.get_by_label("Find a customer").fill("ANN.OZOLA@example")
    page.get_by_role("button", name="Find").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ann Ozola")
    rows.first.get_by_role("link", name="Ann Ozola").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Ann Ozola")
    profile = page.get_by_test_id("profile")
    expect(profile.locator("div", has=page.locator("dt", has_text="City"))).to_contain_text("Riga")
    expect(profile.locator("div", has=page.locator("dt", has_text="E-mail"))).to_contain_text("ann.ozola@example.com")
    journey = page.locator(".journey", has_text="Find me welcome")
    expect(journey.locator('[data-step="f1"]')).to_contain_text("Lives in Riga? → yes")
    expect(journey.locator('[data-step="e1"]')).to_contain_text("Sveiki — done")
    expect(journey.get_by_role("heading")).to_contain_text("completed")

    page.goto("/ui/#/customers/find-bob")
    journey = page.locator(".journey", has_text="Find me welcome")
    expect(journey.locator('[data-step="f1"]')).to_contain_text("Lives in Riga? → no")
    expect(journey.locator('[data-step="e2"]')).to_contain_text("Hello — not sent: no e-mail address")
