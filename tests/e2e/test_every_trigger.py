"""Walk the trigger list: every trigger the engine serves is chosen in the trigger's form, configured, saved and
reloaded without loss."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.canvas import editor_document, node, open_editor
from tests.e2e.conftest import create_campaign, fixture_document
from tests.e2e.test_every_action import _fill_required, _references

#: Settings a trigger needs that a generic value cannot give: a date field of the profile, a product.
FILL = {"date_come_for_client": {"config.field": "birthday"}}
LISTS = {"item_purchased": {"config.skus": "RUN-42"}, "item_ordered": {"config.skus": "RUN-42"}}


def test_every_trigger_type_is_chosen_configured_saved_and_reloaded(page: Page, api: httpx.Client) -> None:
    _references(api)
    campaign = create_campaign(api, {**fixture_document("empty"), "name": "Trigger walk"})
    open_editor(page, campaign)
    served = set(api.get("/schema/campaign").json()["$defs"])
    node(page, "trigger").dblclick()
    options = page.locator("#trigger-type option").evaluate_all("els => els.map(e => e.value)")
    expect(page.locator('[data-editing="trigger"]')).to_have_count(1)
    page.locator('[data-editing="trigger"] [data-action="apply"]').click()
    assert {f"{''.join(p.capitalize() for p in t.split('_'))}Trigger" for t in options} <= served
    assert {"date_come_for_client", "anniversary", "days_since", "order_paid", "segment_changed"} <= set(options)

    first = editor_document(page)["trigger"]["type"]
    for trigger_type in [*(t for t in options if t != first), first]:  # each one a change, back to the first
        node(page, "trigger").dblclick()
        panel = page.locator('[data-editing="trigger"]')
        panel.locator("#trigger-type").select_option(trigger_type)
        for name, value in FILL.get(trigger_type, {}).items():
            panel.locator(f'[name="{name}"]').fill(value)
        for path, value in LISTS.get(trigger_type, {}).items():
            panel.locator(f'[data-array="{path}"] > button.add').click()
            panel.locator(f'[name="{path}[0]"]').fill(value)
        _fill_required(panel, trigger_type)
        panel.locator('[data-action="apply"]').click()
        expect(panel).to_have_count(0)
        page.click('[data-action="save"]')
        notice = page.get_by_test_id("notice")
        expect(notice).to_have_text("Saved.")
        problems = page.get_by_test_id("document-problems").all_inner_texts()
        saved = editor_document(page)
        assert saved["trigger"]["type"] == trigger_type, problems
        assert api.get(f"/campaigns/{campaign}").json()["document"]["trigger"] == saved["trigger"]
        page.reload()
        open_editor(page, campaign)
        assert editor_document(page)["trigger"] == saved["trigger"]
