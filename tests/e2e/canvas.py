"""Driving the editor's canvas the way a person does: by mouse on the dots, nodes and lines."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, Page, expect


def open_editor(page: Page, campaign_id: int) -> None:
    page.goto(f"/ui/#/campaigns/{campaign_id}")
    expect(page.locator(".react-flow__node").first).to_be_visible(timeout=20_000)
    page.wait_for_function("() => !!window.tidingsEditor")


def node(page: Page, node_id: str) -> Locator:
    return page.locator(f'.react-flow__node[data-id="{node_id}"]')


def nodes_of_type(page: Page, node_type: str) -> Locator:
    return page.locator(f'.react-flow__node:has([data-node-type="{node_type}"])')


def edges(page: Page) -> Locator:
    return page.locator(".react-flow__edge")


def handle(page: Page, node_id: str, handle_id: str) -> Locator:
    return node(page, node_id).locator(f'.react-flow__handle[data-handleid="{handle_id}"]')


def centre(locator: Locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None, "element is not on screen"
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def connect(page: Page, source: str, port: str, target: str) -> None:
    """Drag from the source's output dot (green; a filter's + or −) to the target's blue input dot."""
    x1, y1 = centre(handle(page, source, port))
    x2, y2 = centre(handle(page, target, "in"))
    page.mouse.move(x1, y1, steps=3)
    handle(page, source, port).hover()
    page.mouse.down()
    page.mouse.move((x1 + x2) / 2, (y1 + y2) / 2, steps=5)
    page.mouse.move(x2, y2, steps=5)
    page.mouse.up()


def edge_point(page: Page, edge_id: str) -> tuple[float, float]:
    """A point in the middle of an edge's line, in page coordinates."""
    point: dict[str, float] = page.evaluate(
        """(id) => {
            const path = document.querySelector(`.react-flow__edge[data-id="${id}"] path.react-flow__edge-path`);
            const at = path.getPointAtLength(path.getTotalLength() / 2);
            const screen = new DOMPoint(at.x, at.y).matrixTransform(path.getScreenCTM());
            return {x: screen.x, y: screen.y};
        }""",
        edge_id,
    )
    return point["x"], point["y"]


def editor_document(page: Page) -> dict[str, Any]:
    document: dict[str, Any] = page.evaluate("() => window.tidingsEditor.document()")
    return document


def edit_document(page: Page, document: dict[str, Any]) -> None:
    """Load a fixture document into the open editor as one edit (it may be one the API would refuse, e.g. with
    nodes not connected yet)."""
    page.evaluate("(doc) => window.tidingsEditor.edit(doc)", document)


def save(page: Page) -> None:
    page.click('[data-action="save"]')
    expect(page.get_by_test_id("notice")).to_have_text("Saved.")
    expect(page.get_by_test_id("unsaved")).to_have_count(0)


def context_menu(page: Page, item: str) -> None:
    page.locator(".context-menu").get_by_role("menuitem", name=item, exact=True).click()
