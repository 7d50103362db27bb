"""The browser editor: the built single-page app at ``/ui`` and the catalogue it reads next to the JSON Schema.

The editor's forms come from ``GET /api/v1/schema/campaign``. What that schema cannot say — the palette group
and the output ports of each action, and the customer fields and operators of the condition language — is
served here at ``GET /ui/catalog.json``, read from the same registries the engine runs, so a new action appears
in the editor without editor changes.

The app is built by ``make frontend`` (Vite) into ``tidings/ui_dist`` and ships inside the wheel.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from tidings.api.deps import ServicesDep
from tidings.document.campaign import CampaignDocument
from tidings.document.registry import ACTIONS, TRIGGERS
from tidings.model.conditions import CUSTOMER_FIELDS, OPERATORS
from tidings.store.catalog import load_catalog

UI_DIST = Path(__file__).resolve().parent.parent / "ui_dist"
#: Custom fields are named ``attributes.<code>`` in conditions.
ATTRIBUTES = "attributes."

router = APIRouter(include_in_schema=False)


def _static_ports(action: Any) -> list[str] | None:
    """The action's outputs when they do not depend on its settings; None when they do (e.g. one per variant)."""
    try:
        return [str(port) for port in action.ports(action.config_model.model_construct())]
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def editor_catalog(custom_fields: Mapping[str, str]) -> dict[str, Any]:
    """Palette groups and output ports of every action, trigger titles, and the condition vocabulary."""
    return {
        "actions": {
            name: {"title": action.title, "group": action.group, "ports": _static_ports(action)}
            for name, action in ACTIONS.items()
        },
        "triggers": {name: {"title": trigger.title, "kind": trigger.kind} for name, trigger in TRIGGERS.items()},
        "condition": {
            "fields": {**CUSTOMER_FIELDS, **{ATTRIBUTES + code: kind for code, kind in custom_fields.items()}},
            "custom_fields": sorted(ATTRIBUTES + code for code in custom_fields),
            "operators": OPERATORS,
        },
    }


@router.get("/ui/catalog.json")
def catalog(services: ServicesDep) -> dict[str, Any]:
    with services.db.engine.connect() as conn:
        return editor_catalog(load_catalog(conn).custom_fields)


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/ui/")


@router.get("/ui")
def ui_slash() -> RedirectResponse:
    return RedirectResponse("/ui/")


def install(app: FastAPI) -> None:
    """Serve the editor at /ui; without a build, /ui/ says how to make one instead of a bare 404."""
    app.include_router(router)
    if (UI_DIST / "index.html").is_file():
        app.mount("/ui", StaticFiles(directory=UI_DIST, html=True), name="ui")
        return

    @app.get("/ui/", include_in_schema=False)
    def not_built() -> JSONResponse:
        message = f"the editor is not built: run `make frontend` (it builds frontend/ into {UI_DIST})"
        return JSONResponse({"error": {"code": "ui_not_built", "message": message, "details": None}}, status_code=503)


if __name__ == "__main__":
    # `python -m tidings.api.ui` prints the schema and the catalogue (no database: no custom fields); the
    # editor's unit tests read this to cover every node type of the engine they are built with.
    json.dump({"schema": CampaignDocument.model_json_schema(), "catalog": editor_catalog({})}, sys.stdout, indent=1)
