"""The editor in a marketer's words: a refused save names the node by its title and says what to change, a
refused connection says why, conditions name fields (custom ones too) and operators in words, the re-entry
interval is "every 365 days", and a customer's journey is told with the titles typed for its nodes."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.canvas import connect, node, open_editor
from tests.e2e.conftest import create_campaign, fixture_document


def test_a_refused_save_names_the_node_by_its_title_and_says_what_to_change(page: Page, api: httpx.Client) -> None:
    campaign = create_campaign(api, fixture_document("branched"))
    open_editor(page, campaign)
    node(page, "e2").dblclick()
    page.locator('[data-editing="e2"] [name="config.subject"]').fill("")
    page.locator('[data-editing="e2"] [data-action="apply"]').click()
    page.click('[data-action="save"]')
    expect(page.get_by_test_id("notice")).to_have_text(
        "Not saved: one thing to change. “Welcome” (Send email): Subject — fill it in."
    )
    expect(node(page, "e2").get_by_test_id("node-problems")).to_have_text("Subject: fill it in")


def test_a_refused_connection_says_why(page: Page, api: httpx.Client) -> None:
    campaign = create_campaign(api, fixture_document("branched"))
    open_editor(page, campaign)
    connect(page, "e3", "out", "f1")
    expect(page.get_by_test_id("canvas-hint")).to_have_text(
        "Not connected: How is it going? → Lives in Riga?: this connection would make a loop."
    )
    expect(page.locator(".react-flow__edge")).to_have_count(7)


def test_conditions_and_settings_are_in_words(page: Page, api: httpx.Client) -> None:
    declared = api.post("/custom-fields", json={"code": "loyalty_level", "name": "Loyalty level", "type": "text"})
    assert declared.status_code in (200, 201), declared.text
    campaign = create_campaign(api, fixture_document("branched"))
    open_editor(page, campaign)
    node(page, "f1").dblclick()
    panel = page.locator('[data-editing="f1"]')
    field = panel.get_by_label("Field", exact=True)
    expect(field.locator("option:checked")).to_have_text("City")
    expect(panel.get_by_label("Operator").locator("option:checked")).to_have_text("is")
    expect(field.locator("option", has_text="Loyalty level")).to_have_count(1)
    options = (
        field.locator("option").all_inner_texts() + panel.get_by_label("Operator").locator("option").all_inner_texts()
    )
    assert [text for text in options if "_" in text or "." in text] == []
    panel.get_by_role("button", name="Cancel").click()

    page.get_by_role("button", name="Settings", exact=True).click()
    settings = page.locator('[data-panel="settings"]')
    reentry = settings.locator('[data-field="settings.reentry_interval"]')
    expect(reentry.locator("input")).to_have_value("365")
    expect(reentry.locator("select")).to_have_value("days")
    help_text = reentry.locator(".help").inner_text()
    assert "every 365 days" in help_text and not re.search(r"ISO|P365D|`", help_text)


def test_the_journey_is_told_with_the_titles_of_the_nodes(page: Page, api: httpx.Client) -> None:
    customer = {"external_id": "words-ann", "email": "words-ann@example.com", "city": "Riga"}
    assert api.post("/customers", json={"customers": [customer]}).status_code == 200
    document = fixture_document("branched")
    document["name"] = "Words journey"
    document["trigger"] = {"id": "trigger", "type": "api_enrollment", "config": {}}
    campaign = create_campaign(api, document)
    assert api.post(f"/campaigns/{campaign}/activate").status_code == 200
    assert api.post(f"/campaigns/{campaign}/enroll", json={"customers": ["words-ann"]}).status_code == 200
    assert api.post("/clock/advance", json={"by": "PT2H"}).status_code == 200

    page.goto("/ui/#/customers/words-ann")
    journey = page.locator(".card", has_text="Words journey")
    expect(journey.locator('[data-step="f1"]')).to_contain_text("Lives in Riga? → yes")
    expect(journey.locator('[data-step="e1"]')).to_contain_text("Welcome (Riga)")
    expect(journey).to_contain_text("waiting at Three days later until")
