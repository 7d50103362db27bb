"""The condition language's JSON Schema is served by the API (the editor builds its condition forms from it)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pydantic import TypeAdapter

from tests.api.conftest import api_client
from tidings.model.conditions import CONDITION_TAGS, Condition
from tidings.services import Services


@pytest.fixture
def client(services: Services) -> Iterator[httpx.Client]:
    with api_client(services) as http:
        yield http


def test_the_condition_schema_is_served(client: httpx.Client) -> None:
    response = client.get("/schema/condition")
    assert response.status_code == 200
    schema = response.json()
    assert schema == TypeAdapter(Condition).json_schema()
    kinds = {ref["$ref"].rsplit("/", 1)[1] for ref in schema["oneOf"]}
    assert kinds == {
        "AllOf", "AnyOf", "Not", "FieldCondition", "SubscriptionCondition", "AudienceCondition", "SegmentCondition",
        "OrdersCondition", "EventCondition", "MessageCondition", "CampaignCondition",
    }  # fmt: skip
    assert len(kinds) == len(CONDITION_TAGS)
    definitions = schema["$defs"]
    assert definitions["OrdersFilter"]["properties"]["metric"]["enum"] == [
        "count",
        "sum",
        "average",
        "first_date",
        "last_date",
    ]
    assert definitions["EventCondition"]["properties"]["op"]["enum"] == [
        "at_least",
        "at_most",
        "days_since_last_gte",
        "days_since_last_lte",
    ]
    assert "not" in definitions["Not"]["properties"]
    assert "/api/v1/schema/condition" in client.get("/openapi.json").json()["paths"]
