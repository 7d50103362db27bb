"""The editor's catalogue (GET /ui/catalog.json): the palette's groups and each action's outputs come from the
engine's registry, so the editor never types them again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tidings.actions.ab_test import AbTestConfig
from tidings.api.ui import editor_catalog
from tidings.core.contracts import PALETTE_GROUP_TITLES, PaletteGroup, PortsCountedBySetting
from tidings.document.campaign import CampaignDocument
from tidings.document.registry import ACTIONS, TRIGGERS

#: The metadata the editor's unit tests fall back on when no build wrote frontend/.generated/.
SNAPSHOT = Path(__file__).parents[2] / "frontend" / "src" / "model" / "fixtures" / "editor-meta.json"


def test_every_palette_group_has_a_title_in_words_and_its_place() -> None:
    assert set(PALETTE_GROUP_TITLES) == set(PaletteGroup)
    groups = editor_catalog({})["groups"]
    assert [group["id"] for group in groups] == [group.value for group in PaletteGroup]
    for group in groups:
        assert group["title"] == PALETTE_GROUP_TITLES[PaletteGroup(group["id"])]
        assert group["title"].strip() and "_" not in group["title"]


def test_every_action_sits_in_a_served_group_and_every_group_holds_an_action() -> None:
    catalog = editor_catalog({})
    served = {group["id"] for group in catalog["groups"]}
    assert set(catalog["actions"]) == set(ACTIONS)
    used = {entry["group"] for entry in catalog["actions"].values()}
    assert used == served
    assert {name: entry["group"] for name, entry in catalog["actions"].items()} == {
        name: action.group.value for name, action in ACTIONS.items()
    }
    assert catalog["actions"]["audience_action"]["group"] == catalog["actions"]["select_from_segment"]["group"]


def test_each_action_serves_the_outputs_it_routes_to() -> None:
    catalog = editor_catalog({})
    for name, action in ACTIONS.items():
        entry = catalog["actions"][name]
        ids = [port["id"] for port in entry["ports"]]
        assert all(port["title"].strip() for port in entry["ports"]), name
        if isinstance(action, PortsCountedBySetting):
            assert entry["ports_counted_by"] == action.ports_counted_by
            assert ids == list(action.possible_ports())
        else:
            assert entry["ports_counted_by"] is None
            assert ids == list(action.ports(action.config_model.model_construct())), name
    assert catalog["actions"]["filter_customers"]["ports"] == [
        {"id": "yes", "title": "yes"},
        {"id": "no", "title": "no"},
    ]
    assert catalog["actions"]["check_email_status"]["ports"] == [
        {"id": "undelivered", "title": "not delivered"},
        {"id": "delivered_not_read", "title": "delivered, not read"},
        {"id": "read_no_click", "title": "read, no click"},
        {"id": "read_clicked", "title": "read, clicked"},
    ]
    assert [name for name, entry in catalog["actions"].items() if entry["edges_carry_criteria"]] == [
        "check_email_status"
    ]
    for name in TRIGGERS:
        assert catalog["triggers"][name]["ports"] == [{"id": "out", "title": "out"}]


def test_a_node_counted_by_a_setting_has_the_first_outputs_the_setting_counts() -> None:
    ab_test = ACTIONS["ab_test"]
    entry = editor_catalog({})["actions"]["ab_test"]
    assert entry["ports_counted_by"] == "variants"
    for variants in range(2, len(entry["ports"]) + 1):
        config = AbTestConfig(variants=variants, sample_size=100)
        assert list(ab_test.ports(config)) == [port["id"] for port in entry["ports"][:variants]]
    assert [port["title"] for port in entry["ports"][:3]] == ["variant 1", "variant 2", "variant 3"]


def test_the_editors_committed_snapshot_is_what_the_engine_serves() -> None:
    """The editor's unit tests read this snapshot when no build generated fresh metadata, so a stale one would
    test the editor against an engine that no longer exists."""
    snapshot: dict[str, Any] = json.loads(SNAPSHOT.read_text())
    regenerate = f"regenerate it: PYTHONPATH=src python -m tidings.api.ui > {SNAPSHOT.relative_to(SNAPSHOT.parents[3])}"
    assert snapshot["catalog"] == editor_catalog({}), regenerate
    assert snapshot["schema"] == CampaignDocument.model_json_schema(), regenerate


def test_the_catalogue_is_served_with_the_declared_custom_fields(client: httpx.Client) -> None:
    declared = client.post("/custom-fields", json={"code": "shoe_size", "name": "Shoe size", "type": "number"})
    assert declared.status_code == 201, declared.text
    served = client.get(str(client.base_url.copy_with(path="/ui/catalog.json")))
    assert served.status_code == 200
    assert served.json() == editor_catalog({"shoe_size": "number"}, {"shoe_size": "Shoe size"})
    assert served.json()["condition"]["custom_fields"] == ["attributes.shoe_size"]
    assert served.json()["condition"]["field_titles"]["attributes.shoe_size"] == "Shoe size"  # the declared name
