"""The shell and the campaign list; saving and reloading; validation errors on their node and field; the
lifecycle with live counters; the unsaved-changes guard."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.canvas import context_menu, editor_document, node, nodes_of_type, open_editor, save
from tests.e2e.conftest import create_campaign, document_of, fixture_document

#: An image of its own: the open pixel is added only to mail that has one.
LOGO = '<img src="https://shop.example/logo.png" alt="Shop">'


def test_navigation_reaches_every_section(page: Page, api: httpx.Client) -> None:
    page.goto("/")  # the root leads to the editor's shell
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    for section, heading in [
        ("segments", "Segments"),
        ("audiences", "Audiences"),
        ("customers", "Customers"),
        ("messages", "Messages"),
        ("settings", "Settings"),
        ("campaigns", "Campaigns"),
    ]:
        page.click(f'[data-nav="{section}"]')
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        expect(page).to_have_url(re.compile(f"#/{section}$"))
    page.click('[data-nav="settings"]')
    expect(page.locator('input[name="timezone"]')).to_have_value(api.get("/settings").json()["timezone"])


def test_campaign_list_create_search_only_active_duplicate_archive(page: Page, api: httpx.Client) -> None:
    page.goto("/ui/#/campaigns")
    page.get_by_label("New campaign name").fill("Spring sale")
    page.get_by_role("button", name="Create campaign").click()
    # a new campaign opens in the editor with its trigger on the canvas
    expect(page.locator(".react-flow__node")).to_have_count(1)
    expect(node(page, "trigger")).to_contain_text("Trigger")
    expect(page.get_by_test_id("status")).to_have_text("draft")

    page.click('[data-nav="campaigns"]')
    rows = page.locator("[data-campaign]")
    page.get_by_label("Search by name").fill("spring")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Spring sale")
    expect(rows.first).to_contain_text("draft")

    rows.first.get_by_role("button", name="Duplicate").click()
    expect(rows).to_have_count(2)
    expect(page.locator("[data-campaign]", has_text="Spring sale (copy)")).to_have_count(1)

    copy = page.locator("[data-campaign]", has_text="Spring sale (copy)")
    copy.get_by_role("button", name="Archive").click()
    expect(rows).to_have_count(1)
    page.get_by_label("Show archived").check()
    expect(page.locator("[data-campaign]", has_text="archived")).to_have_count(1)

    active = create_campaign(api, {**fixture_document("two_nodes"), "name": "Spring active"})
    assert api.post(f"/campaigns/{active}/activate").status_code == 200
    page.reload()
    page.get_by_label("Search by name").fill("spring")
    page.get_by_label("Only active").check()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Spring active")


def test_the_list_shows_the_orders_and_revenue_credited_to_each_campaign(
    page: Page, api: httpx.Client, app_url: str
) -> None:
    customer = {"external_id": "list-buyer", "email": "list-buyer@example.com"}
    assert api.post("/customers", json={"customers": [customer]}).status_code == 200
    document = {
        "name": "Credited sale",
        "trigger": {"id": "trigger", "type": "api_enrollment", "config": {}},
        "nodes": [{"id": "e1", "type": "send_email", "config": {"subject": "Sale", "body_html": LOGO + "<p>Sale</p>"}}],
        "edges": [{"source": "trigger", "target": "e1"}],
    }
    campaign = create_campaign(api, document)
    assert api.post(f"/campaigns/{campaign}/activate").status_code == 200
    assert api.post(f"/campaigns/{campaign}/enroll", json={"customers": ["list-buyer"]}).status_code == 200
    assert api.post("/clock/advance", json={"by": "PT1M"}).status_code == 200
    [mail] = api.get("/mailbox", params={"recipient": "list-buyer@example.com"}).json()["items"]
    pixel = re.search(r'src="[^"]*(/t/o/[^"]+)"', mail["body_html"])
    assert pixel is not None
    assert httpx.get(f"{app_url}{pixel.group(1)}", trust_env=False).status_code == 200  # the e-mail is opened
    now = api.get("/clock").json()["now"]
    line = {"sku": "SKU-LIST", "quantity": 1, "price": 1234.5}
    receipt = {"external_id": "list-1", "kind": "receipt", "customer": "list-buyer", "placed_at": now, "lines": [line]}
    assert api.post("/orders", json={"orders": [receipt]}).status_code == 200

    page.goto("/ui/#/campaigns")
    page.get_by_label("Search by name").fill("Credited sale")
    row = page.locator(f'[data-campaign="{campaign}"]')
    expect(row.locator('[data-column="orders"]')).to_have_text("1")
    expect(row.locator('[data-column="revenue"]')).to_have_text("1,234.50")
    expect(page.locator("thead th")).to_contain_text(["Status", "Name", "Orders", "Revenue", "Created", "Updated"])


def test_save_and_reload_show_the_same_graph(page: Page, api: httpx.Client) -> None:
    campaign = create_campaign(api, fixture_document("branched"))
    open_editor(page, campaign)
    node(page, "w2").click(button="right")
    context_menu(page, "Edit")
    page.locator('[data-editing="w2"] input[name="config.amount"]').fill("4")
    page.locator('[data-editing="w2"] [data-action="apply"]').click()
    box = node(page, "e3").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 40, box["y"] + 15)
    page.mouse.down()
    page.mouse.move(box["x"] + 40, box["y"] + 140, steps=6)
    page.mouse.up()
    page.get_by_role("button", name="Auto-layout").click()
    save(page)
    before = editor_document(page)
    assert before == document_of(api, campaign)
    assert before["nodes"][4]["config"] == {"amount": 4, "unit": "days"}

    page.reload()
    open_editor(page, campaign)
    assert editor_document(page) == before
    expect(page.locator(".react-flow__node")).to_have_count(7)
    expect(page.locator(".react-flow__edge")).to_have_count(7)
    expect(node(page, "w2")).to_contain_text("4 · days")


def test_refused_document_shows_the_problem_on_its_node_and_field(page: Page, api: httpx.Client) -> None:
    campaign = create_campaign(api, fixture_document("branched"))
    open_editor(page, campaign)
    node(page, "e2").dblclick()
    panel = page.locator('[data-editing="e2"]')
    panel.locator('[name="config.subject"]').fill("")
    panel.locator('[data-action="apply"]').click()
    page.click('[data-action="save"]')
    expect(page.get_by_test_id("notice")).to_contain_text("Not saved")
    expect(node(page, "e2").get_by_test_id("node-problems")).to_have_text("Subject: fill it in")
    expect(node(page, "e1").get_by_test_id("node-problems")).to_have_count(0)
    node(page, "e2").dblclick()
    field = page.locator('[data-editing="e2"] [data-field="config.subject"]')
    expect(field.locator(".field-error")).to_be_visible()
    stored = {n["id"]: n for n in document_of(api, campaign)["nodes"]}
    assert stored["e2"]["config"]["subject"] == "Hi {{ customer.first_name }}"  # nothing was saved


def test_activate_then_counters_move_when_an_event_arrives(page: Page, api: httpx.Client) -> None:
    document = {
        "name": "Counters",
        "trigger": {"id": "trigger", "type": "event_occurred", "config": {"event": "counters_signup"}},
        "nodes": [
            {"id": "e1", "type": "send_email", "config": {"subject": "Hi", "body_html": "<p>Hi</p>"}},
            {"id": "w1", "type": "wait", "config": {"amount": 2, "unit": "days"}},
        ],
        "edges": [{"source": "trigger", "target": "e1"}, {"source": "e1", "target": "w1"}],
        "layout": {"trigger": {"x": 0, "y": 0}, "e1": {"x": 300, "y": 0}, "w1": {"x": 600, "y": 0}},
    }
    campaign = create_campaign(api, document)
    customers = [{"external_id": "counter-ann", "email": "counter-ann@example.com", "first_name": "Ann"}]
    assert api.post("/customers", json={"customers": customers}).status_code == 200
    open_editor(page, campaign)
    expect(page.get_by_test_id("counters")).to_have_count(0)  # a draft has none
    page.click('[data-action="activate"]')
    expect(page.get_by_test_id("status")).to_have_text("active")
    expect(node(page, "e1").get_by_test_id("counters")).to_be_visible()
    expect(node(page, "e1").locator('[data-counter="entered"]')).to_have_text("in 0")

    events = {"events": [{"customer": "counter-ann", "name": "counters_signup"}]}
    assert api.post("/events", json=events).status_code == 200
    assert api.post("/clock/advance", json={"by": "PT1M"}).status_code == 200
    expect(node(page, "trigger").locator('[data-counter="performed"]')).to_have_text("✓ 1")
    expect(node(page, "e1").locator('[data-counter="performed"]')).to_have_text("✓ 1")
    expect(node(page, "w1").locator('[data-counter="waiting"]')).to_have_text("wait 1")
    expect(page.locator('.react-flow__edge[data-id="e1:out->w1"] .react-flow__edge-text')).to_have_text("1")

    # saving an edit of an active campaign first says how many customers it moves
    node(page, "w1").click()
    page.keyboard.press("Delete")
    page.click('[data-action="save"]')
    expect(page.get_by_test_id("affected")).to_contain_text("1 leave the campaign")
    page.click('[data-action="confirm-save"]')
    expect(page.get_by_test_id("notice")).to_have_text("Saved.")
    assert [n["id"] for n in document_of(api, campaign)["nodes"]] == ["e1"]

    page.click('[data-action="pause"]')
    expect(page.get_by_test_id("status")).to_have_text("paused")
    page.click('[data-action="stop"]')
    expect(page.get_by_test_id("status")).to_have_text("stopped")
    assert api.get(f"/campaigns/{campaign}").json()["status"] == "stopped"


def test_unsaved_changes_are_guarded(page: Page, api: httpx.Client) -> None:
    campaign = create_campaign(api, fixture_document("two_nodes"))
    open_editor(page, campaign)
    node(page, "w1").click()
    page.keyboard.press("Delete")
    page.click('[data-nav="campaigns"]')
    dialog = page.get_by_role("dialog", name="Unsaved changes")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Stay").click()
    expect(page).to_have_url(re.compile(f"#/campaigns/{campaign}$"))
    expect(nodes_of_type(page, "wait")).to_have_count(0)
    page.click('[data-nav="campaigns"]')
    page.get_by_role("dialog", name="Unsaved changes").get_by_role("button", name="Leave").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    assert len(document_of(api, campaign)["nodes"]) == 1
