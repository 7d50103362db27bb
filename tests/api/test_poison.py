"""Poison input (issue 12): documents, bodies and values that once stopped the service are refused with a clear
4xx naming the limit or the place, on both databases, and leave the service working."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

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
