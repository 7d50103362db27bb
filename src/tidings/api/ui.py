"""The browser editor: the built single-page app at ``/ui`` and the catalogue it reads next to the JSON Schema.

The editor's forms come from ``GET /api/v1/schema/campaign``. What that schema cannot say — the palette's groups
(their order and titles), each action's group and its outputs (with the words the canvas labels them in), and
the customer fields and operators of the condition language — is served here at ``GET /ui/catalog.json``, read
from the same registries the engine runs, so a new action appears in the editor without editor changes.

The app is built by ``make frontend`` (Vite) into ``tidings/ui_dist`` and ships inside the wheel.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from tidings.api.deps import ServicesDep
from tidings.core.contracts import (
    PALETTE_GROUP_TITLES,
    Action,
    EdgesCarryCriteria,
    NamesPorts,
    PaletteGroup,
    PortsCountedBySetting,
)
from tidings.document.campaign import CampaignDocument
from tidings.document.registry import ACTIONS, TRIGGERS
from tidings.model.conditions import CUSTOMER_FIELD_TITLES, CUSTOMER_FIELDS, OPERATOR_TITLES, OPERATORS
from tidings.store.catalog import load_catalog
from tidings.store.custom_fields import declared_names

UI_DIST = Path(__file__).resolve().parent.parent / "ui_dist"
#: Custom fields are named ``attributes.<code>`` in conditions.
ATTRIBUTES = "attributes."

router = APIRouter(include_in_schema=False)  # the catalogue: signed-in callers
public_router = APIRouter(include_in_schema=False)  # the way to the editor's page (which signs in)


#: A trigger has one output, the default one.
TRIGGER_PORTS = ("out",)


def _ports(names: Sequence[str], titles: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"id": name, "title": titles.get(name, name)} for name in names]


def _action_entry(action: Action) -> dict[str, Any]:
    """How the editor shows an action: title, palette group, and its outputs with the words they are labelled
    in. The outputs of a node counted by a setting are all it may have; a node has as many as the setting says."""
    counted = action if isinstance(action, PortsCountedBySetting) else None
    # every other action's outputs do not depend on its settings: ask with none
    ports = counted.possible_ports() if counted else action.ports(action.config_model.model_construct())
    return {
        "title": action.title,
        "group": action.group.value,
        "ports": _ports(ports, action.port_titles() if isinstance(action, NamesPorts) else {}),
        "ports_counted_by": counted.ports_counted_by if counted else None,
        "edges_carry_criteria": isinstance(action, EdgesCarryCriteria),
    }


def editor_catalog(custom_fields: Mapping[str, str], custom_names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Palette groups (in palette order), each action's group and outputs, trigger titles, and the condition
    vocabulary with the words for each field (a custom field: the name it was declared with) and operator."""
    names = custom_names or {}
    return {
        "groups": [{"id": group.value, "title": PALETTE_GROUP_TITLES[group]} for group in PaletteGroup],
        "actions": {name: _action_entry(action) for name, action in ACTIONS.items()},
        "triggers": {
            name: {"title": trigger.title, "kind": trigger.kind, "ports": _ports(TRIGGER_PORTS, {})}
            for name, trigger in TRIGGERS.items()
        },
        "condition": {
            "fields": {**CUSTOMER_FIELDS, **{ATTRIBUTES + code: kind for code, kind in custom_fields.items()}},
            "custom_fields": sorted(ATTRIBUTES + code for code in custom_fields),
            "operators": OPERATORS,
            "field_titles": {
                **CUSTOMER_FIELD_TITLES,
                **{ATTRIBUTES + code: names.get(code) or code.replace("_", " ") for code in custom_fields},
            },
            "operator_titles": OPERATOR_TITLES,
        },
    }


@router.get("/ui/catalog.json")
def catalog(services: ServicesDep) -> dict[str, Any]:
    with services.db.engine.connect() as conn:
        return editor_catalog(load_catalog(conn).custom_fields, declared_names(conn))


@public_router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/ui/")


@public_router.get("/ui")
def ui_slash() -> RedirectResponse:
    return RedirectResponse("/ui/")


def install(app: FastAPI) -> None:
    """Serve the editor at /ui; without a build, /ui/ says how to make one instead of a bare 404."""
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
