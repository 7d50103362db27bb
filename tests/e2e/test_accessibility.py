"""Accessibility in Chromium: axe-core (pinned, injected by the test) finds no serious or critical violation on
any page of the workspace or in any node's open form, and every page has one level-one heading."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.axe import assert_accessible, report
from tests.e2e.canvas import edit_document, node, open_editor
from tests.e2e.conftest import create_campaign, fixture_document


def one_heading(page: Page, where: str) -> None:
    expect(page.locator("h1")).to_have_count(1)
    assert page.locator("h1").inner_text().strip(), f"the heading of {where} is empty"


WELCOME = {"subject": "Hi", "body_html": "<p>Hi</p>"}


def _mail_and_journey(api: httpx.Client) -> None:
    """A customer who went through a campaign and got an e-mail: the profile and the mailbox have something."""
    customer = {"external_id": "axe-ann", "email": "axe-ann@example.com", "first_name": "Ann", "city": "Riga"}
    assert api.post("/customers", json={"customers": [customer]}).status_code == 200
    document = {
        "name": "Axe welcome",
        "trigger": {"id": "trigger", "type": "api_enrollment", "config": {}},
        "nodes": [{"id": "e1", "type": "send_email", "title": "Welcome", "config": WELCOME}],
        "edges": [{"source": "trigger", "target": "e1"}],
    }
    campaign = create_campaign(api, document)
    assert api.post(f"/campaigns/{campaign}/activate").status_code == 200
    assert api.post(f"/campaigns/{campaign}/enroll", json={"customers": ["axe-ann"]}).status_code == 200
    assert api.post("/clock/advance", json={"by": "PT1M"}).status_code == 200


def test_every_page_passes_axe_and_has_one_heading(context: BrowserContext, api: httpx.Client) -> None:
    _mail_and_journey(api)
    page = context.new_page()
    problems: list[str] = []
    pages = {
        "campaigns": ("/ui/#/campaigns", "Campaigns"),
        "segments": ("/ui/#/segments", "Segments"),
        "audiences": ("/ui/#/audiences", "Audiences"),
        "customers": ("/ui/#/customers", "Customers"),
        "a customer": ("/ui/#/customers/axe-ann", "Ann"),
        "messages": ("/ui/#/messages", "Messages"),
        "settings": ("/ui/#/settings", "Settings"),
    }
    for name, (url, heading) in pages.items():
        page.goto(url)
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        page.wait_for_load_state("networkidle")
        one_heading(page, name)
        problems += report(page, name)
    page.goto("/ui/#/messages")
    page.locator('[data-testid="mailbox"] tbody tr', has_text="axe-ann@example.com").first.click()
    expect(page.locator(".mail iframe")).to_be_visible()
    problems += report(page, "an open message")

    campaign = create_campaign(api, fixture_document("branched"))
    open_editor(page, campaign)
    one_heading(page, "the editor")
    problems += report(page, "the editor")
    page.get_by_role("button", name="Settings", exact=True).click()
    problems += report(page, "the campaign's settings", ".side-panel")
    assert not problems, "axe:\n" + "\n".join(problems)


def test_the_sign_in_page_passes_axe(anonymous: BrowserContext) -> None:
    page = anonymous.new_page()
    page.goto("/ui/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    one_heading(page, "the sign-in page")
    assert_accessible(page, "the sign-in page")


def test_the_form_of_every_action_and_trigger_passes_axe(page: Page, api: httpx.Client, app_url: str) -> None:
    catalog: dict[str, Any] = api.get(f"{app_url}/ui/catalog.json").json()
    campaign = create_campaign(api, {**fixture_document("empty"), "name": "Axe forms"})
    open_editor(page, campaign)
    document = fixture_document("empty")
    types = sorted(catalog["actions"])
    document["edges"] = []
    document["nodes"] = [{"id": f"n{index}", "type": kind, "config": {}} for index, kind in enumerate(types)]
    document["layout"] = {"trigger": {"x": 0, "y": 0}} | {
        f"n{index}": {"x": 260 * (1 + index % 4), "y": 120 * (index // 4)} for index in range(len(types))
    }
    edit_document(page, document)
    problems: list[str] = []
    for node_id, kind in [("trigger", "trigger"), *((f"n{index}", kind) for index, kind in enumerate(types))]:
        node(page, node_id).focus()
        page.keyboard.press("Enter")
        panel = page.locator(f'[data-editing="{node_id}"]')
        expect(panel).to_be_visible()
        problems += report(page, f"the form of {kind}", ".side-panel")
        panel.get_by_role("button", name="Cancel").click()
        expect(panel).to_have_count(0)
    assert not problems, "axe:\n" + "\n".join(problems)
