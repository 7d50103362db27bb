"""The new actions are part of the campaign document: its node union, its JSON Schema, strict configs."""

from __future__ import annotations

from typing import Any

import pytest

from tidings.document.campaign import CampaignDocument
from tidings.document.registry import ACTIONS

NEW = ["refresh_filter", "select_from_segment", "audience_action", "control_group", "limit_participants"]


def _schema() -> dict[str, Any]:
    return CampaignDocument.model_json_schema(by_alias=True)


@pytest.mark.parametrize("node_type", NEW)
def test_each_action_is_registered_and_in_the_document_schema(node_type: str) -> None:
    assert node_type in ACTIONS
    schema = _schema()
    nodes = schema["properties"]["nodes"]["items"]
    assert node_type in nodes["discriminator"]["mapping"]
    node_ref = nodes["discriminator"]["mapping"][node_type].rsplit("/", 1)[-1]
    config_ref = schema["$defs"][node_ref]["properties"]["config"]["$ref"].rsplit("/", 1)[-1]
    config = schema["$defs"][config_ref]
    assert config["title"] == ACTIONS[node_type].title
    assert config["additionalProperties"] is False
    for name, field in config["properties"].items():
        assert field.get("description"), f"{node_type}.{name} has no description"
