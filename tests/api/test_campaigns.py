from __future__ import annotations

import httpx

from tests.api.helpers import add_customers, error_of, start_campaign
from tests.engine.helpers import campaign, email_node, wait_node


def welcome() -> dict[str, object]:
    return campaign(wait_node("w1", 1), email_node("e1"), edges=[("trigger", "w1"), ("w1", "e1")])


def test_create_read_and_list(client: httpx.Client) -> None:
    created = client.post("/campaigns", json=welcome())
    assert created.status_code == 201
    assert created.json() == {"id": created.json()["id"], "version": 1, "status": "draft"}
    campaign_id = created.json()["id"]
    detail = client.get(f"/campaigns/{campaign_id}").json()
    assert (detail["name"], detail["status"], detail["version"]) == ("Test campaign", "draft", 1)
    assert [node["id"] for node in detail["document"]["nodes"]] == ["w1", "e1"]
    assert detail["document"]["trigger"]["type"] == "api_enrollment"
    assert detail["created_at"] == "2026-01-05T10:00:00Z"
    second = client.post("/campaigns", json=welcome() | {"name": "Second"}).json()["id"]
    items = client.get("/campaigns").json()["items"]
    assert [(item["id"], item["name"]) for item in items] == [(campaign_id, "Test campaign"), (second, "Second")]


def test_an_invalid_document_names_the_node_and_the_field(client: httpx.Client) -> None:
    document = campaign(wait_node("w1", -3), email_node("e1"), edges=[("trigger", "w1"), ("w1", "e1")])
    error = error_of(client.post("/campaigns", json=document), 422)
    assert error["code"] == "campaign.document_invalid"
    assert error["details"] == [{"node": "w1", "field": "config.amount", "message": error["details"][0]["message"]}]
    assert "'w1'" in error["message"] and "config.amount" in error["message"]

    document = campaign(email_node("e1"), edges=[("trigger", "e1")])
    document["nodes"][0]["config"]["colour"] = "red"
    error = error_of(client.post("/campaigns", json=document), 422)
    assert error["details"] == [{"node": "e1", "field": "config.colour", "message": "unknown field"}]

    error = error_of(client.post("/campaigns", json=campaign(email_node("e1"), edges=[("trigger", "nowhere")])), 422)
    assert {"node": "trigger", "field": "edges[0].target"}.items() <= error["details"][0].items()
    assert error_of(client.post("/campaigns", json=[1, 2]), 422)["code"] == "campaign.document_invalid"
    assert client.get("/campaigns").json()["items"] == []


def test_a_draft_is_edited_in_place(client: httpx.Client) -> None:
    campaign_id = client.post("/campaigns", json=welcome()).json()["id"]
    saved = client.put(f"/campaigns/{campaign_id}", json=welcome() | {"name": "Renamed"})
    assert saved.json() == {"version": 1, "dry_run": False, "affected": {"stay": 0, "rerouted": 0, "dropped": 0}}
    assert client.get(f"/campaigns/{campaign_id}").json()["name"] == "Renamed"
    error = error_of(client.put(f"/campaigns/{campaign_id}", json={"name": "No trigger"}), 422)
    assert error["code"] == "campaign.document_invalid"
    assert error["details"][0]["node"] == "trigger"


def test_editing_a_running_campaign_makes_a_version_and_dry_run_only_reports(client: httpx.Client) -> None:
    add_customers(client, {"external_id": "c1", "email": "ann@example.com"})
    campaign_id = start_campaign(client, welcome())
    client.post(f"/campaigns/{campaign_id}/enroll", json={"customers": ["c1"]})
    without_wait = campaign(email_node("e1"), edges=[("trigger", "e1")])

    dry = client.put(f"/campaigns/{campaign_id}", params={"dry_run": "true"}, json=without_wait)
    assert dry.json() == {"version": 1, "dry_run": True, "affected": {"stay": 0, "rerouted": 1, "dropped": 0}}
    assert client.get(f"/campaigns/{campaign_id}").json()["version"] == 1
    assert client.get("/customers/c1/journeys").json()["journeys"][0]["waiting"][0]["node"] == "w1"

    saved = client.put(f"/campaigns/{campaign_id}", json=without_wait)
    assert saved.json() == {"version": 2, "dry_run": False, "affected": {"stay": 0, "rerouted": 1, "dropped": 0}}
    assert client.get(f"/campaigns/{campaign_id}").json()["version"] == 2
    assert client.get("/customers/c1/journeys").json()["journeys"][0]["waiting"][0]["node"] == "e1"


def test_lifecycle(client: httpx.Client) -> None:
    campaign_id = client.post("/campaigns", json=welcome()).json()["id"]
    for verb, status in [
        ("activate", "active"),
        ("pause", "paused"),
        ("activate", "active"),
        ("stop", "stopped"),
        ("archive", "archived"),
    ]:
        response = client.post(f"/campaigns/{campaign_id}/{verb}")
        assert response.json() == {"id": campaign_id, "status": status}, verb
    assert client.get(f"/campaigns/{campaign_id}").json()["status"] == "archived"


def test_an_invalid_transition_is_409(client: httpx.Client) -> None:
    campaign_id = client.post("/campaigns", json=welcome()).json()["id"]
    error = error_of(client.post(f"/campaigns/{campaign_id}/pause"), 409)
    assert error["code"] == "campaign.invalid_transition"
    assert "draft" in error["message"]
    assert error["details"] == {"status": "draft"}
    client.post(f"/campaigns/{campaign_id}/archive")
    assert (
        error_of(client.put(f"/campaigns/{campaign_id}", json=welcome()), 409)["code"] == "campaign.invalid_transition"
    )


def test_an_unknown_campaign_is_404(client: httpx.Client) -> None:
    for method, path, body in [
        ("GET", "/campaigns/999", None),
        ("PUT", "/campaigns/999", welcome()),
        ("POST", "/campaigns/999/activate", None),
        ("POST", "/campaigns/999/enroll", {"customers": ["c1"]}),
        ("GET", "/campaigns/999/stats", None),
    ]:
        error = error_of(client.request(method, path, json=body), 404)
        assert error["code"] == "not_found", path
        assert "campaign 999" in error["message"]
    assert error_of(client.post("/campaigns/999/explode"), 404)["code"] == "not_found"


def test_a_campaign_id_must_be_a_number(client: httpx.Client) -> None:
    error = error_of(client.get("/campaigns/welcome"), 422)
    assert error["code"] == "invalid_input"
    assert error["details"][0] == {"field": "campaign_id", "in": "path", "message": error["details"][0]["message"]}
    assert error_of(client.get(f"/campaigns/{2**70}"), 422)["details"][0]["field"] == "campaign_id"


def test_enroll(client: httpx.Client) -> None:
    add_customers(client, {"external_id": "c1", "email": "ann@example.com"}, {"external_id": "c2"})
    draft = client.post("/campaigns", json=welcome()).json()["id"]
    assert (
        error_of(client.post(f"/campaigns/{draft}/enroll", json={"customers": ["c1"]}), 409)["code"]
        == "campaign.invalid_transition"
    )
    campaign_id = start_campaign(client, welcome())
    response = client.post(
        f"/campaigns/{campaign_id}/enroll", json={"customers": ["c1", "ghost"], "context": {"coupon": "SPRING"}}
    )
    assert response.json() == {"entered": 1, "not_entered": 0, "unknown_customers": ["ghost"]}
    again = client.post(f"/campaigns/{campaign_id}/enroll", json={"customers": ["c1", "c2"]})
    assert again.json() == {"entered": 1, "not_entered": 1, "unknown_customers": []}
    error = error_of(client.post(f"/campaigns/{campaign_id}/enroll", json={"customers": []}), 422)
    assert error["details"][0]["field"] == "customers"


def test_stats_list_every_node_with_its_counters(client: httpx.Client) -> None:
    add_customers(
        client,
        {"external_id": "ann", "email": "ann@example.com"},
        {"external_id": "bob"},
        {"external_id": "cid", "email": "cid@example.com"},
    )
    document = campaign(
        {
            "id": "f1",
            "type": "filter_customers",
            "title": "Has e-mail?",
            "config": {"condition": {"all": [{"field": "email", "op": "not_empty"}]}},
        },
        wait_node("w1", 1),
        email_node("e1"),
        email_node("e2"),
        edges=[("trigger", "f1"), ("f1", "w1", "yes"), ("f1", "e2", "no"), ("w1", "e1")],
    )
    campaign_id = client.post("/campaigns", json=document).json()["id"]
    zero = client.get(f"/campaigns/{campaign_id}/stats").json()
    assert zero["campaign_id"] == campaign_id and zero["version"] == 1
    assert [(n["node_id"], n["type"], n["entered"], n["performed"], n["waiting"]) for n in zero["nodes"]] == [
        ("trigger", "api_enrollment", 0, 0, 0),
        ("f1", "filter_customers", 0, 0, 0),
        ("w1", "wait", 0, 0, 0),
        ("e1", "send_email", 0, 0, 0),
        ("e2", "send_email", 0, 0, 0),
    ]

    client.post(f"/campaigns/{campaign_id}/activate")
    client.post(f"/campaigns/{campaign_id}/enroll", json={"customers": ["ann", "bob", "cid"]})
    client.post("/clock/advance", json={"by": "PT1M"})
    nodes = {n["node_id"]: n for n in client.get(f"/campaigns/{campaign_id}/stats").json()["nodes"]}
    assert nodes["trigger"] == {
        "node_id": "trigger",
        "type": "api_enrollment",
        "title": None,
        "entered": 3,
        "performed": 3,
        "ports": {"out": 3},
        "dropped": {},
        "suppressed": {},
        "removed": {},
        "waiting": 0,
    }
    assert nodes["f1"] == {
        "node_id": "f1",
        "type": "filter_customers",
        "title": "Has e-mail?",
        "entered": 3,
        "performed": 3,
        "ports": {"yes": 2, "no": 1},
        "dropped": {},
        "suppressed": {},
        "removed": {},
        "waiting": 0,
    }
    assert (nodes["w1"]["entered"], nodes["w1"]["performed"], nodes["w1"]["waiting"]) == (2, 0, 2)
    assert nodes["e2"] == {
        "node_id": "e2",
        "type": "send_email",
        "title": None,
        "entered": 1,
        "performed": 0,
        "ports": {},
        "dropped": {"no_contact": 1},
        "suppressed": {},
        "removed": {},
        "waiting": 0,
    }
    assert nodes["e1"]["entered"] == 0


def test_stats_show_control_group_suppression(client: httpx.Client) -> None:
    add_customers(client, *({"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(40)))
    document = campaign(
        {"id": "cg", "type": "control_group", "config": {"method": "percentage", "percent": 50}},
        email_node("e1"),
        edges=[("trigger", "cg"), ("cg", "e1")],
    )
    campaign_id = client.post("/campaigns", json=document).json()["id"]
    client.post(f"/campaigns/{campaign_id}/activate")
    client.post(f"/campaigns/{campaign_id}/enroll", json={"customers": [f"c{i}" for i in range(40)]})
    client.post("/clock/advance", json={"by": "PT1M"})
    e1 = next(n for n in client.get(f"/campaigns/{campaign_id}/stats").json()["nodes"] if n["node_id"] == "e1")
    held_out = e1["suppressed"]["control_group"]
    assert 0 < held_out < 40
    assert e1["performed"] == 40
    assert len(client.get("/mailbox").json()["items"]) == 40 - held_out
