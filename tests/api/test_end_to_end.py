"""The whole path through the API: customers, a campaign, an event, simulated time, and what came of it."""

from __future__ import annotations

import httpx

from tests.engine.helpers import campaign, email_node


def test_event_to_mailbox_stats_and_trace(client: httpx.Client) -> None:
    customers = [
        {"external_id": "ann", "email": "ann@example.com", "first_name": "Ann"},
        {"external_id": "bob", "email": "bob@example.com", "first_name": "Bob"},
    ]
    assert client.post("/customers", json={"customers": customers}).json() == {
        "upserted": 2,
        "errors": [],
        "withheld": [],
    }
    document = campaign(
        email_node("thanks", "Thank you, {{ customer.first_name }}"),
        edges=[("trigger", "thanks")],
        trigger={"id": "trigger", "type": "event_occurred", "config": {"event": "order_paid"}},
    )
    created = client.post("/campaigns", json=document)
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]
    assert client.post(f"/campaigns/{campaign_id}/activate").json() == {"id": campaign_id, "status": "active"}

    posted = client.post(
        "/events",
        json={
            "events": [
                {"customer": "ann", "name": "order_paid", "properties": {"order_total": 42.5}},
                {"customer": "bob", "name": "page_viewed"},
            ]
        },
    )
    assert posted.json() == {"accepted": 2, "errors": []}

    advanced = client.post("/clock/advance", json={"by": "PT1M"})
    assert advanced.status_code == 200, advanced.text
    assert advanced.json()["entered"] == 1
    assert advanced.json()["delivered"] == 1

    mail = client.get("/mailbox").json()["items"]
    assert [(item["recipient"], item["subject"]) for item in mail] == [("ann@example.com", "Thank you, Ann")]

    stats = {node["node_id"]: node for node in client.get(f"/campaigns/{campaign_id}/stats").json()["nodes"]}
    assert stats["trigger"]["performed"] == 1
    assert stats["thanks"] == {
        "node_id": "thanks",
        "type": "send_email",
        "title": None,
        "entered": 1,
        "performed": 1,
        "ports": {"out": 1},
        "dropped": {},
        "suppressed": {},
        "removed": {},
        "waiting": 0,
    }

    journeys = client.get("/customers/ann/journeys").json()["journeys"]
    assert len(journeys) == 1
    assert journeys[0]["campaign_id"] == campaign_id
    assert journeys[0]["status"] == "completed"
    assert [(step["node"], step["outcome"], step["port"]) for step in journeys[0]["steps"]] == [
        ("trigger", "performed", "out"),
        ("thanks", "performed", "out"),
    ]
    assert journeys[0]["waiting"] == []
    assert client.get("/customers/bob/journeys").json() == {"customer": "bob", "journeys": []}
