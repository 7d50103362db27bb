"""axe-core in the page: the pinned copy from the editor's node_modules (frontend/package-lock.json), injected by
the test, never by the app. A serious or critical violation fails the test with what and where."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
FAILING = ("serious", "critical")


def violations(page: Page, within: str | None = None) -> list[dict[str, Any]]:
    """axe's serious and critical violations of the page (or of the elements matching the CSS ``within``)."""
    if not AXE.is_file():
        raise RuntimeError(f"{AXE} is missing: run `make frontend` (npm ci installs the pinned axe-core)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async (within) => {
            const context = within ? {include: [[within]]} : document;
            const result = await window.axe.run(context, {resultTypes: ["violations"]});
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
            }));
        }""",
        within,
    )
    return [violation for violation in found if violation["impact"] in FAILING]


def report(page: Page, where: str, within: str | None = None) -> list[str]:
    """One line per serious or critical violation on ``where`` (none: an empty list)."""
    return [
        f"{where}: {v['impact']} {v['id']} ({v['help']}): " + "; ".join(n["target"] for n in v["nodes"][:8])
        for v in violations(page, within)
    ]


def assert_accessible(page: Page, where: str, within: str | None = None) -> None:
    found = report(page, where, within)
    assert not found, "axe:\n" + "\n".join(found)
