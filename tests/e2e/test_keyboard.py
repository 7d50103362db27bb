"""The editor with the keyboard alone: trigger → filter → e-mail is built, connected and saved without the mouse,
a refused connection says why, and the focused node is visibly marked."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.canvas import editor_document, node, open_editor
from tests.e2e.conftest import create_campaign, fixture_document

#: Enough Tab presses to go once round everything on the editor's page.
ROUND = 120


def tab_to(page: Page, selector: str, *, back: bool = False) -> None:
    """Press Tab (Shift+Tab) until the focused element matches the CSS ``selector``; fail after a round."""
    for _ in range(ROUND):
        if page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Shift+Tab" if back else "Tab")
    raise AssertionError(f"{selector} is not reachable with {'Shift+' if back else ''}Tab")


def outline(page: Page, node_id: str) -> str:
    style: str = node(page, node_id).locator(".node").evaluate("e => getComputedStyle(e).outlineStyle")
    return style


def test_build_connect_and_save_a_campaign_with_the_keyboard_only(page: Page, api: httpx.Client) -> None:
    campaign = create_campaign(api, {**fixture_document("empty"), "name": "Keyboard"})
    open_editor(page, campaign)
    page.locator("body").focus()

    # the trigger: reached with Tab, visibly focused, selected with Space: the node the palette places after
    tab_to(page, '.react-flow__node[data-id="trigger"]')
    assert outline(page, "trigger") != "none"
    page.keyboard.press("Space")
    expect(node(page, "trigger")).to_have_class(re.compile(r"\bselected\b"))
    tab_to(page, '[data-palette-type="filter_customers"]', back=True)
    assert outline(page, "trigger") == "none"
    page.keyboard.press("Enter")
    filter_node = page.locator(".react-flow__node", has=page.locator('[data-node-type="filter_customers"]'))
    expect(filter_node).to_be_focused()
    expect(page.get_by_test_id("canvas-hint")).to_contain_text("Filter customers placed after Enrolment by API")
    filter_id = filter_node.get_attribute("data-id")
    assert filter_id is not None

    # Enter opens the node's form with the focus in it; Enter in the title applies it
    page.keyboard.press("Enter")
    expect(page.locator(f'[data-editing="{filter_id}"]')).to_be_visible()
    expect(page.get_by_label("Title")).to_be_focused()
    page.keyboard.type("Lives in Riga?")
    page.keyboard.press("Enter")
    expect(page.locator(f'[data-editing="{filter_id}"]')).to_have_count(0)
    expect(filter_node).to_be_focused()

    tab_to(page, '[data-palette-type="send_email"]', back=True)
    page.keyboard.press("Enter")
    email = page.locator(".react-flow__node", has=page.locator('[data-node-type="send_email"]'))
    expect(email).to_be_focused()
    expect(page.get_by_test_id("canvas-hint")).to_contain_text("Send email placed after Lives in Riga?, connected")
    email_id = email.get_attribute("data-id")
    assert email_id is not None
    page.keyboard.press("Enter")
    page.keyboard.type("Welcome")
    tab_to(page, '[name="config.subject"]')
    page.keyboard.type("Hello")
    tab_to(page, '[name="config.body_html"]')
    page.keyboard.type("<p>Welcome to Riga</p>")
    tab_to(page, '[data-action="apply"]')
    page.keyboard.press("Enter")
    expect(email).to_be_focused()

    # the filter's "no" goes to the e-mail too: Enter on the output dot, then Enter on the node
    tab_to(page, f'.react-flow__node[data-id="{filter_id}"] .react-flow__handle[data-handleid="no"]', back=True)
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("canvas-hint")).to_contain_text("Connecting")
    tab_to(page, f'.react-flow__node[data-id="{email_id}"]')
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("canvas-hint")).to_have_text("Connected Lives in Riga? → Welcome.")

    # a loop is refused, and the hint says why
    tab_to(page, f'.react-flow__node[data-id="{email_id}"] .react-flow__handle.source')
    page.keyboard.press("Enter")
    tab_to(page, f'.react-flow__node[data-id="{filter_id}"]', back=True)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("canvas-hint")).to_have_text(
        "Not connected: Welcome → Lives in Riga?: this connection would make a loop."
    )
    page.keyboard.press("Escape")

    tab_to(page, '[data-action="save"]', back=True)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("notice")).to_have_text("Saved.")
    saved = api.get(f"/campaigns/{campaign}").json()["document"]
    assert saved == editor_document(page)
    assert [(e["source"], e.get("source_port"), e["target"]) for e in saved["edges"]] == [
        ("trigger", None, filter_id),
        (filter_id, "yes", email_id),
        (filter_id, "no", email_id),
    ]
    titles = {n["id"]: (n["type"], n["title"]) for n in saved["nodes"]}
    assert titles == {filter_id: ("filter_customers", "Lives in Riga?"), email_id: ("send_email", "Welcome")}
    email_config = next(n["config"] for n in saved["nodes"] if n["id"] == email_id)
    assert (email_config["subject"], email_config["body_html"]) == ("Hello", "<p>Welcome to Riga</p>")
