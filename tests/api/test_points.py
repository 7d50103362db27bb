"""Points over HTTP: the balance and ledger a campaign's award and bonus nodes wrote, and the loyalty requests."""

from __future__ import annotations

import httpx

from tests.api.helpers import add_customers, error_of, start_campaign
from tests.engine.helpers import campaign, wait_node


def test_a_customers_points_and_the_loyalty_requests_behind_them(client: httpx.Client) -> None:
    add_customers(client, {"external_id": "ann"}, {"external_id": "bob"})
    document = campaign(
        {"id": "p1", "type": "award_points", "config": {"amount": 40, "comment": "Welcome"}},
        {"id": "p2", "type": "award_points", "config": {"amount": -15}},
        {"id": "b1", "type": "accrue_bonus_points", "config": {"amount": 100, "expiry_days": 10}},
        wait_node("w1", 1),
        edges=[("trigger", "p1"), ("p1", "p2"), ("p2", "b1"), ("b1", "w1")],
    )
    campaign_id = start_campaign(client, document)
    assert client.post(f"/campaigns/{campaign_id}/enroll", json={"customers": ["ann"]}).status_code == 200
    assert client.post("/clock/advance", json={"by": "PT5M"}).status_code == 200

    points = client.get("/customers/ann/points").json()
    assert (points["customer"], points["balance"], points["total"]) == ("ann", 125.0, 3)
    assert [(row["amount"], row["node_id"], row["reason"]) for row in points["items"]] == [
        (100.0, "b1", None),
        (-15.0, "p2", None),
        (40.0, "p1", "Welcome"),
    ]
    assert points["items"][0]["expires_at"] == "2026-01-15T10:00:00Z"
    assert client.get("/customers/ann", params={}).json()["points"] == 125.0
    assert client.get("/customers/ann/points", params={"limit": 1, "offset": 1}).json()["items"][0]["node_id"] == "p2"
    assert client.get("/customers/bob/points").json() == {"customer": "bob", "balance": 0.0, "items": [], "total": 0}

    [request] = client.get("/loyalty/requests", params={"customer": "ann"}).json()["items"]
    assert {k: request[k] for k in ("kind", "campaign_id", "node_id", "status", "attempts", "customer")} == {
        "kind": "bonus",
        "campaign_id": campaign_id,
        "node_id": "b1",
        "status": "done",
        "attempts": 1,
        "customer": "ann",
    }
    assert request["payload"] == {"amount": 100, "expiry_days": 10}
    assert client.get("/loyalty/requests", params={"status": "failed"}).json() == {"items": []}
    assert error_of(client.get("/customers/nobody/points"), 404)["code"] == "not_found"
    assert error_of(client.get("/loyalty/requests", params={"kind": "gift"}), 422)["code"] == "invalid_input"
