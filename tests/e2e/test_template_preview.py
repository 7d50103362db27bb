"""The preview of a node's templates in its form: rendered for a customer typed by external id (remembered for
the next form), from the form as typed, with the campaign's variables; an HTML body in a sandboxed frame; the
API's errors naming the field and the line, and warnings for missing variables."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.e2e.canvas import node, open_editor
from tests.e2e.conftest import create_campaign

ANN = {"external_id": "ann", "email": "ann@example.com", "first_name": "Ann"}
# the script would mark the page if it ran; it comes before the text, so once the text shows it has had its turn
BODY = (
    "<script>document.documentElement.dataset.ran = 'yes'</script>"
    "<p>Dear {{ customer.first_name }} from {{ campaign.name }}</p>"
)


def campaign_with(api: httpx.Client, node_type: str, config: dict[str, Any]) -> int:
    response = api.post("/customers", json={"customers": [ANN]})
    assert response.status_code == 200 and response.json()["errors"] == [], response.text
    document = {
        "name": "Preview test",
        "trigger": {"id": "trigger", "type": "api_enrollment", "config": {}},
        "nodes": [{"id": "m1", "type": node_type, "config": config}],
        "edges": [{"source": "trigger", "target": "m1"}],
        "layout": {"trigger": {"x": 0, "y": 0}, "m1": {"x": 320, "y": 0}},
    }
    return create_campaign(api, document)


def edit_node(page: Page, campaign_id: int) -> Locator:
    open_editor(page, campaign_id)
    return open_form(page)


def open_form(page: Page) -> Locator:
    node(page, "m1").dblclick()
    panel = page.locator('[data-editing="m1"]')
    expect(panel).to_be_visible()
    return panel


def test_preview_an_email_for_a_customer_with_errors_and_warnings(page: Page, api: httpx.Client) -> None:
    config = {"subject": "Hi {{ customer.first_name }}", "body_html": BODY}
    panel = edit_node(page, campaign_with(api, "send_email", config))
    subject = panel.locator('textarea[name="config.subject"]')
    expect(subject).to_have_attribute("data-template", "config.subject")
    preview = panel.get_by_test_id("template-preview")
    expect(preview.locator("[data-preview]")).to_have_count(0)

    preview.locator('input[name="preview-customer"]').fill("ann")
    expect(preview.locator('[data-preview="subject"] .preview-text')).to_have_text("Hi Ann")
    expect(preview.locator('[data-preview="body_html"] iframe')).to_have_attribute("sandbox", "")
    body = preview.frame_locator('[data-preview="body_html"] iframe')
    expect(body.locator("p")).to_have_text("Dear Ann from Preview test")  # with the campaign's variables
    expect(body.locator("html")).not_to_have_attribute("data-ran", "yes")
    expect(preview.get_by_test_id("preview-warning")).to_have_count(0)

    subject.fill("Hello\n{% if %}")
    expect(preview.get_by_test_id("preview-error")).to_have_text("subject: line 2: missing expression")
    expect(preview.locator("[data-preview]")).to_have_count(0)

    subject.fill("Hi {{ customer.nickname }}!")
    expect(preview.locator('[data-preview="subject"] .preview-text')).to_have_text("Hi !")
    expect(preview.get_by_test_id("preview-warning")).to_have_text(
        ["subject: line 1: customer.nickname is not defined; it rendered as empty"]
    )
    expect(preview.get_by_test_id("preview-error")).to_have_count(0)

    # the customer is remembered: after a reload the form previews for Ann at once, from the saved subject
    page.reload()
    expect(node(page, "m1")).to_be_visible(timeout=20_000)
    panel = open_form(page)
    expect(panel.locator('input[name="preview-customer"]')).to_have_value("ann")
    expect(panel.locator('[data-preview="subject"] .preview-text')).to_have_text("Hi Ann")


def test_preview_an_sms_and_an_unknown_customer(page: Page, api: httpx.Client) -> None:
    panel = edit_node(page, campaign_with(api, "send_sms", {"text": "{{ customer.first_name }}, 10% off"}))
    preview = panel.get_by_test_id("template-preview")
    preview.locator('input[name="preview-customer"]').fill("nobody")
    preview.get_by_role("button", name="Preview").click()
    expect(preview.get_by_test_id("preview-error")).to_have_text("customer 'nobody' does not exist")

    preview.locator('input[name="preview-customer"]').fill("ann")
    expect(preview.locator('[data-preview="text"] .preview-text')).to_have_text("Ann, 10% off")
    panel.locator('textarea[name="config.text"]').fill("{{ customer.first_name }}\n\n{% endif %}")
    expect(preview.get_by_test_id("preview-error")).to_have_text("text: line 3: unexpected tag 'endif'")
    expect(preview.locator("[data-preview]")).to_have_count(0)
