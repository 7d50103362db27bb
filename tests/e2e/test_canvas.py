"""The canvas behaviours of the manual: placing actions, connecting, deleting connections, the context menu,
double-click editing, copy / paste into another tab, merges and the yes / no outputs."""

from __future__ import annotations

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.canvas import (
    centre,
    connect,
    context_menu,
    edge_point,
    edges,
    edit_document,
    editor_document,
    handle,
    node,
    nodes_of_type,
    open_editor,
    save,
)
from tests.e2e.conftest import create_campaign, document_of, fixture_document


def test_drag_an_action_from_the_palette_onto_the_canvas(page: Page, api: httpx.Client) -> None:
    open_editor(page, create_campaign(api, fixture_document("empty")))
    canvas = page.get_by_test_id("canvas").bounding_box()
    assert canvas is not None
    page.locator('[data-palette-type="wait"]').drag_to(
        page.locator(".react-flow__pane"), target_position={"x": canvas["width"] * 0.75, "y": canvas["height"] * 0.3}
    )
    expect(nodes_of_type(page, "wait")).to_have_count(1)
    placed = editor_document(page)
    assert [n["type"] for n in placed["nodes"]] == ["wait"]
    assert placed["nodes"][0]["config"] == {"amount": 1, "unit": "days"}
    expect(page.get_by_test_id("unsaved")).to_be_visible()


def test_click_an_action_then_click_the_canvas_to_place_it(page: Page, api: httpx.Client) -> None:
    open_editor(page, create_campaign(api, fixture_document("empty")))
    page.click('[data-palette-type="send_email"]')
    expect(page.locator('[data-palette-type="send_email"]')).to_have_class("palette-item group-messages armed")
    pane = page.locator(".react-flow__pane")
    box = pane.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.7)
    expect(nodes_of_type(page, "send_email")).to_have_count(1)
    placed = node(page, "send_email_1").bounding_box()
    assert placed is not None
    assert abs(placed["x"] - (box["x"] + box["width"] * 0.8)) < 160  # where the click was
    # a second click on the canvas places nothing more: the palette choice is used up
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.8)
    expect(page.locator(".react-flow__node")).to_have_count(2)


def test_the_palette_is_the_served_groups_in_order_and_in_words(page: Page, api: httpx.Client, app_url: str) -> None:
    catalog = api.get(f"{app_url}/ui/catalog.json").json()  # the signed-in editor reads it
    open_editor(page, create_campaign(api, fixture_document("two_nodes")))
    shown = page.locator(".palette section").evaluate_all(
        """sections => sections.map(section => [
            section.dataset.group,
            section.querySelector("h2").textContent,
            [...section.querySelectorAll("[data-palette-type]")].map(item => item.dataset.paletteType).sort(),
        ])"""
    )
    served = [
        [
            group["id"],
            group["title"],
            sorted(name for name, a in catalog["actions"].items() if a["group"] == group["id"]),
        ]
        for group in catalog["groups"]
    ]
    assert shown == served
    titles = {group["id"]: group["title"] for group in catalog["groups"]}
    expect(node(page, "w1").locator(".node-kind")).to_have_text(titles[catalog["actions"]["wait"]["group"]])


def test_connect_green_output_to_blue_input_and_save(page: Page, api: httpx.Client) -> None:
    campaign = create_campaign(api, fixture_document("two_nodes"))
    open_editor(page, campaign)
    edit_document(page, {**fixture_document("two_nodes"), "edges": []})
    expect(edges(page)).to_have_count(0)
    connect(page, "trigger", "out", "w1")
    expect(edges(page)).to_have_count(1)
    expect(page.locator('.react-flow__edge[data-id="trigger:out->w1"]')).to_have_count(1)
    save(page)
    assert document_of(api, campaign)["edges"] == [{"source": "trigger", "target": "w1", "source_port": None}]


def test_right_click_a_connection_to_delete_it(page: Page, api: httpx.Client) -> None:
    open_editor(page, create_campaign(api, fixture_document("two_nodes")))
    x, y = edge_point(page, "trigger:out->w1")
    page.mouse.click(x, y, button="right")
    context_menu(page, "Delete connection")
    expect(edges(page)).to_have_count(0)
    page.keyboard.press("Control+z")
    expect(edges(page)).to_have_count(1)


def test_context_menu_edit_copy_delete_and_double_click_edit(page: Page, api: httpx.Client) -> None:
    campaign = create_campaign(api, fixture_document("two_nodes"))
    open_editor(page, campaign)

    node(page, "w1").click(button="right")
    context_menu(page, "Edit")
    panel = page.locator('[data-editing="w1"]')
    expect(panel).to_be_visible()
    panel.locator('input[name="config.amount"]').fill("5")
    panel.locator('select[name="config.unit"]').select_option("minutes")
    panel.locator('[data-action="apply"]').click()
    expect(node(page, "w1")).to_contain_text("5 · minutes")

    node(page, "w1").click(button="right")
    context_menu(page, "Copy")
    page.mouse.click(*centre(page.locator(".react-flow__pane")))
    page.keyboard.press("Control+v")
    expect(nodes_of_type(page, "wait")).to_have_count(2)
    copy = next(n for n in editor_document(page)["nodes"] if n["id"] != "w1")
    assert copy == {"id": "wait_1", "type": "wait", "title": None, "config": {"amount": 5, "unit": "minutes"}}

    node(page, "wait_1").dblclick()
    panel = page.locator('[data-editing="wait_1"]')
    panel.locator('input[name="title"]').fill("Copied wait")
    panel.locator('[data-action="apply"]').click()
    expect(node(page, "wait_1")).to_contain_text("Copied wait")

    node(page, "wait_1").click(button="right")
    context_menu(page, "Delete")
    expect(nodes_of_type(page, "wait")).to_have_count(1)

    # the trigger's menu offers only editing; its type can be changed there
    node(page, "trigger").click(button="right")
    expect(page.locator(".context-menu").get_by_role("menuitem")).to_have_text(["Edit trigger"])
    context_menu(page, "Edit trigger")
    trigger_panel = page.locator('[data-editing="trigger"]')
    trigger_panel.locator('select[name="trigger-type"]').select_option("event_occurred")
    trigger_panel.locator('input[name="config.event"]').fill("registration")
    trigger_panel.locator('[data-action="apply"]').click()
    save(page)
    saved = document_of(api, campaign)
    assert saved["trigger"]["type"] == "event_occurred"
    assert saved["trigger"]["config"] == {"event": "registration", "properties": []}
    assert saved["nodes"] == [{"id": "w1", "type": "wait", "title": None, "config": {"amount": 5, "unit": "minutes"}}]


def test_keyboard_delete_and_undo_redo(page: Page, api: httpx.Client) -> None:
    open_editor(page, create_campaign(api, fixture_document("two_nodes")))
    node(page, "w1").click()
    page.keyboard.press("Delete")
    expect(page.locator(".react-flow__node")).to_have_count(1)
    expect(edges(page)).to_have_count(0)
    page.get_by_role("button", name="Undo").click()
    expect(node(page, "w1")).to_be_visible()
    expect(edges(page)).to_have_count(1)
    page.keyboard.press("Control+y")
    expect(page.locator(".react-flow__node")).to_have_count(1)
    node(page, "trigger").click()
    page.keyboard.press("Delete")
    expect(node(page, "trigger")).to_be_visible()  # the trigger is never deleted


def test_copy_selected_nodes_and_paste_into_another_campaign_in_a_second_tab(
    context: BrowserContext, page: Page, api: httpx.Client
) -> None:
    source = create_campaign(api, fixture_document("branched"))
    target = create_campaign(api, fixture_document("two_nodes"))
    open_editor(page, source)
    node(page, "f1").click()
    node(page, "w1").click(modifiers=["Shift"])
    page.keyboard.press("Control+c")
    expect(page.get_by_test_id("notice")).to_have_text("Copied.")

    second = context.new_page()
    open_editor(second, target)
    second.mouse.click(*centre(second.locator(".react-flow__pane")))
    second.keyboard.press("Control+v")
    expect(nodes_of_type(second, "filter_customers")).to_have_count(1)
    pasted = editor_document(second)
    original = {n["id"]: n for n in fixture_document("branched")["nodes"]}
    by_type = {n["type"]: n for n in pasted["nodes"] if n["id"] != "w1"}
    assert by_type["filter_customers"]["id"] == "filter_customers_1"
    assert by_type["filter_customers"]["config"] == original["f1"]["config"]
    assert by_type["filter_customers"]["title"] == "Lives in Riga?"
    assert by_type["wait"]["id"] == "wait_1"  # w1 is taken in this campaign
    assert {"source": "filter_customers_1", "target": "wait_1", "source_port": "yes"} in pasted["edges"]
    connect(second, "w1", "out", "filter_customers_1")
    save(second)
    assert len(document_of(api, target)["nodes"]) == 3


def test_a_filter_has_yes_and_no_outputs_and_branches_merge(page: Page, api: httpx.Client) -> None:
    document = fixture_document("branched")
    campaign = create_campaign(api, document)
    open_editor(page, campaign)
    edit_document(page, {**document, "edges": [e for e in document["edges"] if e["source"] not in ("f1", "e1", "e2")]})

    yes, no = handle(page, "f1", "yes"), handle(page, "f1", "no")
    expect(yes).to_have_text("+")
    expect(no).to_have_text("−")
    assert "port-yes" in (yes.get_attribute("class") or "")
    assert "port-no" in (no.get_attribute("class") or "")
    expect(handle(page, "w1", "out")).to_have_count(1)
    expect(handle(page, "w1", "in")).to_have_count(1)

    connect(page, "f1", "yes", "w1")
    connect(page, "f1", "no", "e2")
    connect(page, "w1", "out", "e1")
    connect(page, "e1", "out", "w2")  # the merge: two branches end in w2
    connect(page, "e2", "out", "w2")
    expect(edges(page)).to_have_count(7)
    expect(page.locator('.react-flow__edge[data-id="f1:yes->w1"]')).to_have_count(1)
    expect(page.locator('.react-flow__edge[data-id="f1:no->e2"]')).to_have_count(1)
    save(page)
    saved = document_of(api, campaign)["edges"]
    assert {"source": "f1", "target": "w1", "source_port": "yes"} in saved
    assert {"source": "f1", "target": "e2", "source_port": "no"} in saved
    assert sum(1 for e in saved if e["target"] == "w2") == 2
