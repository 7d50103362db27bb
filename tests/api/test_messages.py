from __future__ import annotations

import httpx

from tests.api.helpers import add_customers, error_of, start_campaign
from tests.engine.helpers import campaign, email_node


def send_two_mails(client: httpx.Client) -> int:
    add_customers(
        client,
        {"external_id": "ann", "email": "ann@example.com", "first_name": "Ann"},
        {"external_id": "bob", "email": "bob@example.com", "first_name": "Bob"},
    )
    campaign_id = start_campaign(
        client, campaign(email_node("e1", "Hi {{ customer.first_name }}"), edges=[("trigger", "e1")])
    )
    client.post(f"/campaigns/{campaign_id}/enroll", json={"customers": ["ann", "bob"]})
    client.post("/clock/advance", json={"by": "PT1M"})
    return campaign_id


def test_messages_and_their_filters(client: httpx.Client) -> None:
    campaign_id = send_two_mails(client)
    page = client.get("/messages").json()
    assert (page["limit"], page["offset"]) == (100, 0)
    assert [
        (m["customer"], m["recipient"], m["status"], m["subject"], m["node_id"], m["channel"]) for m in page["items"]
    ] == [
        ("ann", "ann@example.com", "sent", "Hi Ann", "e1", "email"),
        ("bob", "bob@example.com", "sent", "Hi Bob", "e1", "email"),
    ]
    assert page["items"][0]["campaign_id"] == campaign_id
    assert page["items"][0]["sent_at"] == "2026-01-05T10:00:00Z"

    def customers(**params: str | int) -> list[str]:
        return [m["customer"] for m in client.get("/messages", params=params).json()["items"]]

    assert customers(customer="bob") == ["bob"]
    assert customers(campaign_id=campaign_id, node_id="e1") == ["ann", "bob"]
    assert customers(node_id="elsewhere") == []
    assert customers(campaign_id=campaign_id + 1) == []
    assert customers(limit=1, offset=1) == ["bob"]
    error = error_of(client.get("/messages", params={"customer": "ghost"}), 404)
    assert "'ghost'" in error["message"]


def test_mailbox(client: httpx.Client) -> None:
    send_two_mails(client)
    items = client.get("/mailbox").json()["items"]
    assert [(item["recipient"], item["subject"], item["sender"]) for item in items] == [
        ("ann@example.com", "Hi Ann", items[0]["sender"]),
        ("bob@example.com", "Hi Bob", items[1]["sender"]),
    ]
    assert "campaigns@tidings.local" in items[0]["sender"]
    assert items[0]["received_at"] == "2026-01-05T10:00:00Z"
    assert "<p>Hi</p>" in items[0]["body_html"]
    assert [
        i["recipient"] for i in client.get("/mailbox", params={"recipient": "bob@example.com"}).json()["items"]
    ] == ["bob@example.com"]
    assert client.get("/mailbox", params={"limit": 1, "offset": 2}).json()["items"] == []


def test_paging_is_checked(client: httpx.Client) -> None:
    for params in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "many"}):
        error = error_of(client.get("/mailbox", params=params), 422)
        assert error["details"][0]["in"] == "query"
        assert error["details"][0]["field"] == next(iter(params))
    assert error_of(client.get("/messages", params={"campaign_id": "x"}), 422)["details"][0]["field"] == "campaign_id"
