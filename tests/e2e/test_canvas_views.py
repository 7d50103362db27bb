"""What the canvas shows beyond nodes and plain lines: one output per A/B variant, the e-mail status on the lines
leaving Check email status, and the view itself (zoom, pan, minimap, fit view)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.e2e.canvas import connect, context_menu, edge_point, edges, editor_document, node, open_editor, save
from tests.e2e.conftest import create_campaign, document_of, fixture_document

TRIGGER = {"id": "trigger", "type": "api_enrollment", "config": {}}
TRANSFORM = re.compile(r"translate\(([-\d.e+]+)px,\s*([-\d.e+]+)px\)\s*scale\(([-\d.e+]+)\)")
#: True when every node of the canvas lies inside the visible pane (a pixel of rounding allowed).
ALL_NODES_IN_PANE = """() => {
    const pane = document.querySelector('.react-flow__pane').getBoundingClientRect();
    const nodes = [...document.querySelectorAll('.react-flow__node')];
    return nodes.length > 0 && nodes.every((el) => {
        const box = el.getBoundingClientRect();
        return box.left >= pane.left - 1 && box.top >= pane.top - 1
            && box.right <= pane.right + 1 && box.bottom <= pane.bottom + 1;
    });
}"""
VIEWPORT_DIFFERS = """([x, y, zoom]) => {
    const style = document.querySelector('.react-flow__viewport').getAttribute('style') || '';
    const found = /translate\\(([-\\d.e+]+)px,\\s*([-\\d.e+]+)px\\)\\s*scale\\(([-\\d.e+]+)\\)/.exec(style);
    return !!found && (Number(found[1]) !== x || Number(found[2]) !== y || Number(found[3]) !== zoom);
}"""
MAX_ZOOM = 2  # Canvas.tsx: maxZoom


def wait(node_id: str, amount: int) -> dict[str, Any]:
    return {"id": node_id, "type": "wait", "config": {"amount": amount, "unit": "days"}}


def email(node_id: str, subject: str) -> dict[str, Any]:
    return {"id": node_id, "type": "send_email", "config": {"subject": subject, "body_html": f"<p>{subject}</p>"}}


def source_handles(page: Page, node_id: str) -> Locator:
    return node(page, node_id).locator(".react-flow__handle.source")


def handle_ids(page: Page, node_id: str) -> list[str]:
    ids: list[str] = source_handles(page, node_id).evaluate_all("els => els.map(e => e.dataset.handleid)")
    return ids


def edge(page: Page, edge_id: str) -> Locator:
    return page.locator(f'.react-flow__edge[data-id="{edge_id}"]')


def viewport(page: Page) -> tuple[float, float, float]:
    """The canvas's pan (x, y, in pixels) and zoom, read from the transform React Flow puts on its viewport."""
    style = page.locator(".react-flow__viewport").get_attribute("style") or ""
    found = TRANSFORM.search(style)
    assert found is not None, f"no viewport transform in {style!r}"
    x, y, zoom = (float(part) for part in found.groups())
    return x, y, zoom


def viewport_after(page: Page, before: tuple[float, float, float]) -> tuple[float, float, float]:
    """Wait until the viewport is no longer ``before``, then read it."""
    page.wait_for_function(VIEWPORT_DIFFERS, arg=list(before))
    after = viewport(page)
    assert after != before
    return after


def click_control(page: Page, control: str) -> tuple[float, float, float]:
    """Click a button of the canvas controls (zoomin, zoomout, fitview) and return the viewport it leads to."""
    before = viewport(page)
    page.locator(f".react-flow__controls-{control}").click()
    return viewport_after(page, before)


def zoom_in_to_the_limit(page: Page) -> None:
    for _ in range(20):
        if viewport(page)[2] >= MAX_ZOOM:
            break
        click_control(page, "zoomin")
    assert viewport(page)[2] == MAX_ZOOM
    expect(page.locator(".react-flow__controls-zoomin")).to_be_disabled()


def test_an_ab_test_has_one_output_per_variant_and_follows_its_form(page: Page, api: httpx.Client) -> None:
    document = {
        "name": "Three subject lines",
        "trigger": TRIGGER,
        "nodes": [
            {"id": "ab1", "type": "ab_test", "config": {"variants": 3, "sample_size": 300, "criterion": "opens"}},
            wait("w1", 1),
            wait("w2", 2),
            wait("w3", 3),
        ],
        "edges": [
            {"source": "trigger", "target": "ab1"},
            {"source": "ab1", "target": "w1"},
            {"source": "ab1", "target": "w2"},
            {"source": "ab1", "target": "w3"},
        ],
        "layout": {
            "trigger": {"x": 0, "y": 140},
            "ab1": {"x": 300, "y": 140},
            "w1": {"x": 620, "y": 0},
            "w2": {"x": 620, "y": 140},
            "w3": {"x": 620, "y": 280},
        },
    }
    campaign = create_campaign(api, document)
    open_editor(page, campaign)

    expect(source_handles(page, "ab1")).to_have_count(3)
    expect(source_handles(page, "ab1")).to_have_text(["1", "2", "3"])  # numbered dots
    assert handle_ids(page, "ab1") == ["variant-1", "variant-2", "variant-3"]
    assert all("port-variant" in (h.get_attribute("class") or "") for h in source_handles(page, "ab1").all())
    expect(source_handles(page, "w1")).to_have_count(1)  # a plain action keeps its single output
    # the edges are the variants in order
    for variant, target in enumerate(["w1", "w2", "w3"], start=1):
        expect(edge(page, f"ab1:variant-{variant}->{target}")).to_have_count(1)

    node(page, "ab1").dblclick()
    panel = page.locator('[data-editing="ab1"]')
    variants = panel.locator('input[name="config.variants"]')
    expect(variants).to_have_value("3")
    variants.fill("2")
    panel.locator('[data-action="apply"]').click()
    expect(panel).to_have_count(0)

    expect(source_handles(page, "ab1")).to_have_count(2)
    expect(source_handles(page, "ab1")).to_have_text(["1", "2"])
    assert handle_ids(page, "ab1") == ["variant-1", "variant-2"]
    # the third variant's branch lost its line; the first two keep theirs
    expect(edge(page, "ab1:variant-3->w3")).to_have_count(0)
    expect(edge(page, "ab1:variant-1->w1")).to_have_count(1)
    expect(edge(page, "ab1:variant-2->w2")).to_have_count(1)
    edited = editor_document(page)
    assert next(n for n in edited["nodes"] if n["id"] == "ab1")["config"]["variants"] == 2
    assert [e["target"] for e in edited["edges"] if e["source"] == "ab1"] == ["w1", "w2"]

    node(page, "w3").click()  # now unreachable: it goes before saving
    page.keyboard.press("Delete")
    expect(node(page, "w3")).to_have_count(0)
    save(page)
    saved = document_of(api, campaign)
    assert next(n for n in saved["nodes"] if n["id"] == "ab1")["config"]["variants"] == 2
    assert [e["target"] for e in saved["edges"] if e["source"] == "ab1"] == ["w1", "w2"]

    page.reload()
    open_editor(page, campaign)
    expect(source_handles(page, "ab1")).to_have_count(2)


def test_lines_out_of_check_email_status_show_their_criterion_and_it_is_edited_on_the_line(
    page: Page, api: httpx.Client
) -> None:
    document = {
        "name": "Did they read it?",
        "trigger": TRIGGER,
        "nodes": [
            email("e1", "Welcome"),
            wait("w1", 3),
            {"id": "chk", "type": "check_email_status", "config": {}},
            email("e2", "Thanks for clicking"),
            email("e3", "Did you get our e-mail?"),
        ],
        "edges": [
            {"source": "trigger", "target": "e1"},
            {"source": "e1", "target": "w1"},
            {"source": "w1", "target": "chk"},
            {"source": "chk", "target": "e2", "criteria": "read_clicked"},
            {"source": "chk", "target": "e3", "criteria": "undelivered"},
        ],
        "layout": {
            "trigger": {"x": 0, "y": 120},
            "e1": {"x": 260, "y": 120},
            "w1": {"x": 520, "y": 120},
            "chk": {"x": 780, "y": 120},
            "e2": {"x": 1080, "y": 0},
            "e3": {"x": 1080, "y": 260},
        },
    }
    campaign = create_campaign(api, document)
    open_editor(page, campaign)

    # one output per e-mail status; each line names the status it takes, in words
    assert handle_ids(page, "chk") == ["undelivered", "delivered_not_read", "read_no_click", "read_clicked"]
    clicked, undelivered = edge(page, "chk:read_clicked->e2"), edge(page, "chk:undelivered->e3")
    expect(clicked.locator(".react-flow__edge-text")).to_have_text("read, clicked")
    expect(undelivered.locator(".react-flow__edge-text")).to_have_text("not delivered")
    expect(clicked.locator(".react-flow__edge-text")).to_be_visible()
    expect(edge(page, "w1:out->chk").locator(".react-flow__edge-text")).to_have_count(0)  # plain lines: no label

    # the criterion is edited on the line: its right-click menu lists the statuses, the current one ticked
    x, y = edge_point(page, "chk:undelivered->e3")
    page.mouse.click(x, y, button="right")
    menu = page.locator(".context-menu").get_by_role("menuitem")
    expect(menu).to_have_text(
        [
            "✓ When not delivered",
            "When delivered, not read",
            "When read, no click",
            "When read, clicked",
            "Delete connection",
        ]
    )
    context_menu(page, "When delivered, not read")
    expect(undelivered).to_have_count(0)
    changed = edge(page, "chk:delivered_not_read->e3")
    expect(changed.locator(".react-flow__edge-text")).to_have_text("delivered, not read")
    expect(edges(page)).to_have_count(5)

    # drawing a line from another output is the other way: the line takes that output's status
    x, y = edge_point(page, "chk:read_clicked->e2")
    page.mouse.click(x, y, button="right")
    context_menu(page, "Delete connection")
    connect(page, "chk", "read_no_click", "e2")
    expect(edge(page, "chk:read_no_click->e2").locator(".react-flow__edge-text")).to_have_text("read, no click")
    save(page)

    saved = {(e["source"], e["target"]): e for e in document_of(api, campaign)["edges"]}
    assert saved[("chk", "e3")]["criteria"] == "delivered_not_read"
    assert saved[("chk", "e3")].get("source_port") in (None, "delivered_not_read")
    assert saved[("chk", "e2")]["criteria"] == "read_no_click"
    assert saved[("w1", "chk")].get("criteria") is None

    page.reload()
    open_editor(page, campaign)
    expect(edge(page, "chk:delivered_not_read->e3").locator(".react-flow__edge-text")).to_have_text(
        "delivered, not read"
    )


def test_zoom_pan_minimap_and_fit_view(page: Page, api: httpx.Client) -> None:
    open_editor(page, create_campaign(api, fixture_document("branched")))
    # the first view fits the whole campaign
    page.wait_for_function(ALL_NODES_IN_PANE)
    expect(page.locator(".react-flow__node")).to_have_count(7)

    minimap = page.locator(".react-flow__minimap")
    expect(minimap).to_be_visible()
    expect(minimap.locator(".react-flow__minimap-node")).to_have_count(7)  # every node, in small

    start = viewport(page)
    zoomed_in = click_control(page, "zoomin")
    assert zoomed_in[2] > start[2]
    assert abs(zoomed_in[2] - start[2] * 1.2) < 0.01 * start[2]
    zoomed_out = click_control(page, "zoomout")
    assert abs(zoomed_out[2] - start[2]) < 0.01 * start[2]
    smaller = click_control(page, "zoomout")
    assert smaller[2] < start[2]

    # drag the empty canvas: the view moves with the mouse, the zoom stays
    pane = page.locator(".react-flow__pane").bounding_box()
    assert pane is not None
    x, y = pane["x"] + 20, pane["y"] + 20
    hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y).classList.contains('react-flow__pane')", [x, y])
    assert hit, "the drag would not start on the empty canvas"
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 120, y + 60, steps=5)
    page.mouse.move(x + 240, y + 110, steps=5)
    page.mouse.up()
    panned = viewport_after(page, smaller)
    assert abs(panned[0] - smaller[0] - 240) < 2
    assert abs(panned[1] - smaller[1] - 110) < 2
    assert panned[2] == smaller[2]
    expect(page.locator(".react-flow__node.selected")).to_have_count(0)  # a pan is not an edit
    expect(page.get_by_test_id("unsaved")).to_have_count(0)

    # zoomed in as far as it goes, part of the campaign is off screen; fit view brings all of it back
    zoom_in_to_the_limit(page)
    assert not page.evaluate(ALL_NODES_IN_PANE)
    fitted = click_control(page, "fitview")
    assert fitted[2] < MAX_ZOOM
    page.wait_for_function(ALL_NODES_IN_PANE)

    # the toolbar's Fit view does the same (animated)
    zoom_in_to_the_limit(page)
    assert not page.evaluate(ALL_NODES_IN_PANE)
    page.locator(".editor-toolbar").get_by_role("button", name="Fit view").click()
    page.wait_for_function(ALL_NODES_IN_PANE)
    expect(page.locator(".react-flow__controls-zoomin")).to_be_enabled()
