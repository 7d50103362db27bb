"""Every action is part of the campaign document (its node union, its JSON Schema, a strict config), and every
setting of every action and trigger — nested ones included — is described for the marketer filling in its form."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field

from tidings.document.campaign import CampaignDocument
from tidings.document.registry import ACTIONS, TRIGGERS

#: Keywords whose values are data, not schemas: a "properties" key inside them names no fields.
DATA_KEYWORDS = {"default", "examples", "const", "enum"}


def _schema() -> dict[str, Any]:
    return CampaignDocument.model_json_schema(by_alias=True)


def undescribed(schema: dict[str, Any]) -> list[str]:
    """``Model.field`` of every property, at any depth of ``schema`` (its ``$defs`` included), that has no
    description of its own."""
    missing: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, where)
            return
        if not isinstance(node, dict):
            return
        for name, field in node.get("properties", {}).items():
            if not str(field.get("description", "")).strip():
                missing.append(f"{where}.{name}")
            walk(field, f"{where}.{name}")
        for key, value in node.items():
            if key == "$defs":
                for name, definition in value.items():
                    walk(definition, name)
            elif key not in DATA_KEYWORDS and key != "properties":
                walk(value, where)

    walk(schema, str(schema.get("title", "config")))
    return missing


@pytest.mark.parametrize("node_type", sorted(ACTIONS))
def test_each_action_is_registered_and_in_the_document_schema(node_type: str) -> None:
    schema = _schema()
    nodes = schema["properties"]["nodes"]["items"]
    assert node_type in nodes["discriminator"]["mapping"]
    node_ref = nodes["discriminator"]["mapping"][node_type].rsplit("/", 1)[-1]
    config_ref = schema["$defs"][node_ref]["properties"]["config"]["$ref"].rsplit("/", 1)[-1]
    config = schema["$defs"][config_ref]
    assert config["title"] == ACTIONS[node_type].title
    assert config["additionalProperties"] is False


@pytest.mark.parametrize("node_type", sorted(ACTIONS))
def test_every_setting_of_every_action_is_described(node_type: str) -> None:
    assert undescribed(ACTIONS[node_type].config_model.model_json_schema(by_alias=True)) == []


@pytest.mark.parametrize("trigger_type", sorted(TRIGGERS))
def test_every_setting_of_every_trigger_is_described(trigger_type: str) -> None:
    assert undescribed(TRIGGERS[trigger_type].config_model.model_json_schema(by_alias=True)) == []


def test_the_walk_finds_an_undescribed_setting_at_any_depth() -> None:
    class Inner(BaseModel):
        bare: int
        told: int = Field(description="Told.")

    class Outer(BaseModel):
        inner: Inner = Field(description="Nested.")
        inners: list[Inner] | None = Field(default=None, description="Nested in a list.")
        plain: str

    assert undescribed(Outer.model_json_schema()) == ["Outer.plain", "Inner.bare"]
