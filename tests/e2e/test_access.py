"""Signing in to the editor, an analyst's view-only editor, and a forged cross-site change refused.

`SIGN_IN_SCREENSHOT=docs/sign-in.png pytest tests/e2e/test_access.py` writes the README's picture of the sign-in
page; otherwise it goes to a temporary file."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.canvas import context_menu, node, open_editor, save
from tests.e2e.conftest import ADMIN, ANALYST, create_campaign, document_of, fixture_document, sign_in


def fill_sign_in(page: Page, email: str, password: str) -> None:
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.click('[data-action="sign-in"]')


def test_sign_in_edit_and_activate_a_campaign_then_sign_out(
    anonymous: BrowserContext, api: httpx.Client, tmp_path: Path
) -> None:
    campaign = create_campaign(api, fixture_document("branched"))
    page = anonymous.new_page()
    page.set_viewport_size({"width": 1000, "height": 600})
    page.goto(f"/ui/#/campaigns/{campaign}")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    fill_sign_in(page, ADMIN[0], "not the password")
    expect(page.get_by_test_id("sign-in-error")).to_have_text("the e-mail or the password is wrong")
    page.screenshot(path=os.environ.get("SIGN_IN_SCREENSHOT") or str(tmp_path / "sign-in.png"))
    page.set_viewport_size({"width": 1400, "height": 860})

    fill_sign_in(page, *ADMIN)
    open_editor(page, campaign)  # the link asked for before signing in
    expect(page.get_by_test_id("signed-in-as")).to_contain_text("Admin")
    node(page, "w2").click(button="right")
    context_menu(page, "Edit")
    page.locator('[data-editing="w2"] input[name="config.amount"]').fill("5")
    page.locator('[data-editing="w2"] [data-action="apply"]').click()
    save(page)
    page.click('[data-action="activate"]')
    expect(page.get_by_test_id("status")).to_have_text("active")
    assert document_of(api, campaign)["nodes"][4]["config"] == {"amount": 5, "unit": "days"}
    assert api.get(f"/campaigns/{campaign}").json()["status"] == "active"

    page.click('[data-action="sign-out"]')
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert anonymous.request.get("/api/v1/campaigns").status == 401  # the cookie opens nothing any more
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_an_analyst_sees_a_campaign_but_cannot_save_it(anonymous: BrowserContext, api: httpx.Client) -> None:
    campaign = create_campaign(api, fixture_document("branched"))
    sign_in(anonymous, *ANALYST)
    page = anonymous.new_page()
    open_editor(page, campaign)
    expect(node(page, "w2")).to_be_visible()
    expect(page.get_by_test_id("view-only")).to_contain_text("an analyst")
    expect(page.locator('[data-action="save"]')).to_be_disabled()
    expect(page.locator('[data-action="activate"]')).to_be_disabled()
    # and the server refuses it whatever the page does: the analyst's own session, with its CSRF token
    refused = page.evaluate(
        """async (id) => {
            const session = await (await fetch("/api/v1/session")).json();
            const doc = window.tidingsEditor.document();
            const response = await fetch(`/api/v1/campaigns/${id}`, {
                method: "PUT",
                headers: {"content-type": "application/json", "X-CSRF-Token": session.csrf_token},
                body: JSON.stringify({...doc, name: "Renamed by an analyst"}),
            });
            return [response.status, (await response.json()).error.code];
        }""",
        campaign,
    )
    assert refused == [403, "auth.forbidden"]
    assert document_of(api, campaign)["name"] == fixture_document("branched")["name"]


def test_a_change_with_the_cookie_but_without_the_token_is_refused(context: BrowserContext, api: httpx.Client) -> None:
    """What a page on another site can make a signed-in browser send: the cookie, never the CSRF token."""
    campaign = create_campaign(api, fixture_document("two_nodes"))
    page = context.new_page()
    page.goto("/ui/")
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    statuses = page.evaluate(
        """async (id) => {
            const plain = await fetch(`/api/v1/campaigns/${id}/activate`, {
                method: "POST", headers: {"content-type": "text/plain"}, body: "x",
            });
            const json = await fetch(`/api/v1/campaigns/${id}/activate`, {method: "POST"});
            return [plain.status, (await plain.json()).error.code, json.status];
        }""",
        campaign,
    )
    assert statuses == [403, "auth.csrf", 403]
    assert api.get(f"/campaigns/{campaign}").json()["status"] == "draft"
