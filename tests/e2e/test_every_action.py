"""Walk the palette: every action the engine serves is placed, configured through its form, connected,
saved and reloaded without loss."""

from __future__ import annotations

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.e2e.canvas import connect, editor_document, open_editor
from tests.e2e.conftest import create_campaign, fixture_document

COLUMNS = 4
CELL = (250, 105)


def _references(api: httpx.Client) -> None:
    """Segments and audiences for the pickers, where this server has them (the action walk and the trigger walk
    may share a server: an audience the other made is as good)."""
    paths = api.get("/openapi.json").json()["paths"]
    if "/api/v1/segments" in paths:
        made = api.post("/segments", json={"name": "Walk segment", "condition": {"all": []}})
        assert made.status_code == 201, made.text
    if "/api/v1/audiences" in paths:
        made = api.post("/audiences", json={"name": "Walk audience"})
        exists = made.status_code == 409 and made.json()["error"]["details"]["name"] == "Walk audience"
        assert made.status_code == 201 or exists, made.text


#: Settings that are optional one by one, but of which the engine needs one (here: the first).
ONE_OF = {"audience_action": ["config.audience"]}


def _fill_required(panel: Locator, node_type: str) -> None:
    """Give every required, empty setting a value through its widget, the way a person would."""
    extra = "".join(f', .field[data-field="{name}"]' for name in ONE_OF.get(node_type, []))
    for field in panel.locator(f".field:has(.required){extra}").all():
        control = field.locator("input, textarea, select").first
        if control.count() == 0 or not control.is_visible():
            continue
        tag = control.evaluate("e => e.tagName.toLowerCase()")
        kind = control.get_attribute("type") or ""
        if tag == "select":
            expect(control).to_be_enabled()  # a segment or audience list is loaded before it is offered
            if control.input_value() == "":
                options = control.locator("option").all()
                values = [o.get_attribute("value") for o in options if o.get_attribute("value")]
                assert values, f"no choice for {field.get_attribute('data-field')}"
                control.select_option(values[0])
        elif kind == "date":
            if not control.input_value():
                control.fill("2026-03-01")
        elif kind == "number":
            if not control.input_value() or float(control.input_value()) == 0:
                low = float(control.get_attribute("min") or "1")
                control.fill("1" if low <= 1 else control.get_attribute("min") or "1")
        elif (kind in ("text", "") or tag == "textarea") and not control.input_value():
            control.fill("<p>Walk</p>" if tag == "textarea" else "Walk")


def test_every_action_type_is_added_configured_saved_and_reloaded(page: Page, api: httpx.Client) -> None:
    _references(api)
    campaign = create_campaign(api, {**fixture_document("empty"), "name": "Palette walk"})
    open_editor(page, campaign)
    types = [t for t in page.locator("[data-palette-type]").evaluate_all("els => els.map(e => e.dataset.paletteType)")]
    schema_types = api.get("/schema/campaign").json()["$defs"]
    assert {f"{''.join(p.capitalize() for p in t.split('_'))}Node" for t in types} <= set(schema_types)
    assert {"filter_customers", "wait", "wait_until_date", "send_email"} <= set(types)
    # a node that refers to a filter needs one upstream of it: filters come first
    types.sort(key=lambda t: t != "filter_customers")

    for _ in range(3):
        page.locator(".react-flow__controls-zoomout").click()
    pane = page.locator(".react-flow__pane").bounding_box()
    trigger = page.locator('.react-flow__node[data-id="trigger"]').bounding_box()
    assert pane is not None and trigger is not None
    cells = [(pane["x"] + 30 + c * CELL[0], pane["y"] + 30 + r * CELL[1]) for r in range(12) for c in range(COLUMNS)]
    cells = [(x, y) for x, y in cells if not (abs(y - trigger["y"]) < CELL[1] and x < trigger["x"] + trigger["width"])]
    placed_ids = []
    for index, node_type in enumerate(types):  # place them all first: a click on a line would select the line
        page.click(f'[data-palette-type="{node_type}"]')
        page.mouse.click(*cells[index])
        placed = page.locator(".react-flow__node.selected")
        expect(placed).to_have_count(1)
        node_id = placed.get_attribute("data-id")
        assert node_id is not None and node_id.startswith(node_type), (node_id, node_type)
        placed_ids.append(node_id)

    for node_type, node_id in zip(types, placed_ids, strict=True):
        page.locator(f'.react-flow__node[data-id="{node_id}"]').dblclick()
        panel = page.locator(f'[data-editing="{node_id}"]')
        panel.locator('input[name="title"]').fill(f"Walk {node_type}")
        _fill_required(panel, node_type)
        panel.locator('[data-action="apply"]').click()
        expect(panel).to_have_count(0)

    previous, port = "trigger", "out"
    for node_id in placed_ids:  # a chain: trigger → first action → … → last action
        connect(page, previous, port, node_id)
        if not any(e["target"] == node_id for e in editor_document(page)["edges"]):
            # Known: at this zoom, the drag from the first filter's + to the next node is sometimes not taken
            # as a connection on the first try (see the report of issue 6); a second drag is.
            connect(page, previous, port, node_id)
        ports = page.locator(f'.react-flow__node[data-id="{node_id}"] .react-flow__handle.source')
        previous, port = node_id, ports.first.get_attribute("data-handleid") or "out"
    expect(page.locator(".react-flow__edge")).to_have_count(len(types))

    page.click('[data-action="save"]')
    problems = page.get_by_test_id("document-problems")
    notice = page.get_by_test_id("notice")
    expect(notice).to_be_visible()
    assert notice.inner_text() == "Saved.", f"{notice.inner_text()} {problems.all_inner_texts()}"
    saved = editor_document(page)
    assert sorted(n["type"] for n in saved["nodes"]) == sorted(types)
    assert all(n["title"] == f"Walk {n['type']}" for n in saved["nodes"])

    page.reload()
    open_editor(page, campaign)
    assert editor_document(page) == saved
    assert api.get(f"/campaigns/{campaign}").json()["document"] == saved
    expect(page.locator(".react-flow__node")).to_have_count(len(types) + 1)
    save_button = page.locator('[data-action="save"]')
    expect(save_button).to_be_disabled()  # nothing changed: nothing to save
