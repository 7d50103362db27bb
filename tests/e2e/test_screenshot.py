"""The picture in the README: a branched campaign (filter, waits, sends, a merge) with live counters.

`EDITOR_SCREENSHOT=docs/editor.png pytest tests/e2e/test_screenshot.py` writes it; otherwise the picture goes
to a temporary file, so the test still proves the campaign renders."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.canvas import node, open_editor
from tests.e2e.conftest import create_campaign, fixture_document


def test_screenshot_of_a_branched_campaign(page: Page, api: httpx.Client, tmp_path: Path) -> None:
    customers = [
        {"external_id": f"shot-{n}", "email": f"shot-{n}@example.com", "first_name": name, "city": city}
        for n, (name, city) in enumerate([("Ann", "Riga"), ("Ben", "Tallinn"), ("Cas", "Riga"), ("Dan", "Oslo")])
    ]
    assert api.post("/customers", json={"customers": customers}).status_code == 200
    document = fixture_document("branched")
    document["trigger"]["config"]["event"] = "shot_registration"
    campaign = create_campaign(api, document)
    assert api.post(f"/campaigns/{campaign}/activate").status_code == 200
    events = [{"customer": c["external_id"], "name": "shot_registration"} for c in customers]
    assert api.post("/events", json={"events": events}).status_code == 200
    assert api.post("/clock/advance", json={"by": "PT2H"}).status_code == 200

    page.set_viewport_size({"width": 1500, "height": 720})
    open_editor(page, campaign)
    expect(node(page, "w2").locator('[data-counter="waiting"]')).to_have_text("wait 4")
    node(page, "f1").click()
    page.get_by_role("button", name="Fit view", exact=True).click()
    page.wait_for_timeout(400)
    target = Path(os.environ.get("EDITOR_SCREENSHOT") or tmp_path / "editor.png")
    page.screenshot(path=str(target))
    assert target.stat().st_size > 10_000
