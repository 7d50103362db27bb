"""Poison input (issue 12): documents, bodies and values that once stopped the service are refused with a clear
4xx naming the limit or the place, on both databases, and leave the service working."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.api.conftest import api_client
from tests.api.helpers import error_of
from tests.engine.helpers import campaign, wait_node
from tidings.document.campaign import MAX_NODES
from tidings.services import Services


def chain(length: int) -> dict[str, Any]:
    ids = [f"w{index}" for index in range(length)]
    return campaign(*(wait_node(node_id, 1) for node_id in ids), edges=list(zip(["trigger", *ids], ids, strict=False)))


def test_a_chain_as_long_as_the_limit_is_saved_and_a_longer_one_refused(client: httpx.Client) -> None:
    created = client.post("/campaigns", json=chain(MAX_NODES))
    assert created.status_code == 201, created.text
    assert len(client.get(f"/campaigns/{created.json()['id']}").json()["document"]["nodes"]) == MAX_NODES
    error = error_of(client.post("/campaigns", json=chain(MAX_NODES + 1)), 422)
    assert error["code"] == "campaign.document_invalid"
    assert f"at most {MAX_NODES} nodes" in error["message"]
    assert error_of(client.put(f"/campaigns/{created.json()['id']}", json=chain(MAX_NODES + 1)), 422)


def test_a_document_is_checked_before_any_transaction_opens(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite every transaction holds the write lock: checking a big document inside one stopped every other
    write for as long as the check took."""
    import tidings.engine.campaigns as campaigns_module

    checked = campaigns_module.parse_document
    open_while_checking: list[int] = []

    def parse(raw: Any, catalog: Any = None) -> Any:
        open_while_checking.append(services.db.engine.pool.checkedout())
        return checked(raw, catalog)

    monkeypatch.setattr(campaigns_module, "parse_document", parse)
    campaign_id = services.campaigns.create(chain(3))["id"]
    services.campaigns.update(campaign_id, chain(4))
    assert open_while_checking == [0, 0]


def big_customers_body(size: int) -> bytes:
    row = b'{"external_id": "x", "email": "x@example.com", "first_name": "' + b"x" * 1000 + b'"},'
    count = size // len(row) + 1
    return b'{"customers": [' + row * count + b'{"external_id": "last"}]}'


def test_a_body_above_the_limit_is_refused_with_413_before_it_is_read(client: httpx.Client) -> None:
    limit = 8 * 1024 * 1024
    body = big_customers_body(limit)
    assert len(body) > limit
    error = error_of(client.post("/customers", content=body, headers={"content-type": "application/json"}), 413)
    assert error["code"] == "payload_too_large"
    assert f"limit of {limit} bytes (8 MiB)" in error["message"]


def test_a_streamed_body_without_a_length_is_cut_off_at_the_limit(client: httpx.Client) -> None:
    body = big_customers_body(9 * 1024 * 1024)
    sent: list[int] = []

    def chunks() -> Any:
        for start in range(0, len(body), 64 * 1024):
            sent.append(start)
            yield body[start : start + 64 * 1024]

    response = client.post("/customers", content=chunks(), headers={"content-type": "application/json"})
    assert error_of(response, 413)["code"] == "payload_too_large"
    assert client.get("/customers/last").status_code == 404  # nothing of it was stored
    assert client.post("/customers", json={"customers": [{"external_id": "ann"}]}).status_code == 200


def test_a_csv_upload_may_be_larger_up_to_its_own_limit(services: Services) -> None:
    services.settings.max_body_bytes = 1024 * 1024  # read by the app as it is built
    services.settings.max_upload_bytes = 2 * 1024 * 1024
    with api_client(services) as http:
        http.post("/customers", json={"customers": [{"external_id": "ann"}]})
        csv = b"external_id\n" + b"ann\n" * (1536 * 1024 // 4)
        upload = http.post("/audiences/import", content=csv, headers={"content-type": "text/csv"})
        assert upload.status_code != 413, upload.text
        upload = http.post("/audiences/import", content=csv * 2, headers={"content-type": "text/csv"})
        assert error_of(upload, 413)["message"].endswith("(2 MiB)")
        json_body = big_customers_body(1536 * 1024)
        refused = http.post("/customers", content=json_body, headers={"content-type": "application/json"})
        assert error_of(refused, 413)["message"].endswith("(1 MiB)")


LONE_SURROGATE = '"\\ud800"'  # as it arrives in JSON text


def test_a_lone_surrogate_is_refused_with_422_naming_the_field(client: httpx.Client) -> None:
    """A node title holding one was stored on SQLite; every GET of the campaign then answered 500."""
    document = chain(1)
    document["nodes"][0]["title"] = "TITLE"
    body = json.dumps(document).replace('"TITLE"', LONE_SURROGATE)
    error = error_of(client.post("/campaigns", content=body, headers={"content-type": "application/json"}), 422)
    assert error["code"] == "invalid_input"
    assert error["details"] == [{"field": "nodes[0].title", "in": "body", "message": error["details"][0]["message"]}]
    assert "lone surrogate" in error["message"]
    assert client.get("/campaigns").json()["items"] == []
    customers = '{"customers": [{"external_id": "ann", "first_name": ' + LONE_SURROGATE + "}]}"
    error = error_of(client.post("/customers", content=customers, headers={"content-type": "application/json"}), 422)
    assert error["details"][0]["field"] == "customers[0].first_name"


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30])
def test_an_integer_beyond_64_bits_is_refused_alike_on_both_databases(client: httpx.Client, value: int) -> None:
    """SQLite cannot bind one: a condition holding it answered 500 there (422 on PostgreSQL), and in a filter
    node it was saved and then failed at every clock advance, leaving customers stuck at the node."""
    condition = {"all": [{"audience": value}]}
    error = error_of(client.post("/segments/preview", json={"condition": condition}), 422)
    assert "outside the 64-bit range" in error["message"]
    assert error["details"][0]["field"] == "condition.all[0].audience"
    filtered = campaign(
        {"id": "f1", "type": "filter_customers", "config": {"condition": condition}},
        wait_node("w1", 1),
        edges=[("trigger", "f1"), ("f1", "w1", "yes")],
    )
    error = error_of(client.post("/campaigns", json=filtered), 422)
    assert error["details"][0]["field"] == "nodes[0].config.condition.all[0].audience"
    largest = {"all": [{"audience": 2**63 - 1}]}
    assert client.post("/segments/preview", json={"condition": largest}).status_code != 500
