"""Segments over HTTP: CRUD, condition errors naming the path, live preview, recompute, members, and the
getting_into_segment trigger driven by the manual clock."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import add_customers, error_of, start_campaign
from tests.engine.helpers import campaign, email_node


def riga() -> dict[str, Any]:
    return {"field": "city", "op": "equals", "value": "Riga"}


def people(client: httpx.Client) -> None:
    add_customers(
        client,
        {"external_id": "ann", "city": "Riga", "email": "ann@example.com", "first_name": "Ann"},
        {"external_id": "bob", "city": "Riga", "email": "bob@example.com"},
        {"external_id": "cid", "city": "Tallinn", "email": "cid@example.com"},
    )


def test_create_read_update_list_delete(client: httpx.Client) -> None:
    people(client)
    created = client.post("/segments", json={"name": " Riga ", "condition": riga(), "recompute_minutes": 60})
    assert created.status_code == 201, created.text
    segment = created.json()
    assert (segment["name"], segment["size"], segment["recompute_minutes"]) == ("Riga", 2, 60)
    assert segment["last_computed_at"] == "2026-01-05T10:00:00Z"
    assert segment["next_recompute_at"] == "2026-01-05T11:00:00Z"
    assert segment["condition"]["value"] == "Riga"
    assert client.get(f"/segments/{segment['id']}").json() == segment

    baltics = {"any": [riga(), {"field": "city", "op": "equals", "value": "Tallinn"}]}
    updated = client.put(f"/segments/{segment['id']}", json={"name": "Baltics", "condition": baltics})
    assert updated.status_code == 200, updated.text
    assert (updated.json()["name"], updated.json()["size"], updated.json()["recompute_minutes"]) == ("Baltics", 3, 360)

    other = client.post("/segments", json={"name": "Nobody", "condition": {"any": []}}).json()
    listed = client.get("/segments", params={"limit": 1, "offset": 1}).json()
    assert (listed["total"], [item["id"] for item in listed["items"]]) == (2, [other["id"]])

    assert client.delete(f"/segments/{segment['id']}").status_code == 204
    assert error_of(client.get(f"/segments/{segment['id']}"), 404)["code"] == "not_found"
    assert error_of(client.delete(f"/segments/{segment['id']}"), 404)["code"] == "not_found"
    assert error_of(client.put("/segments/999", json={"name": "X", "condition": riga()}), 404)["code"] == "not_found"


def test_a_bad_condition_is_refused_naming_its_path(client: httpx.Client) -> None:
    bad = {"all": [riga(), {"not": {"field": "city", "op": "between", "value": [1, 2]}}]}
    error = error_of(client.post("/segments", json={"name": "Bad", "condition": bad}), 422)
    assert error["code"] == "condition.invalid"
    assert error["details"][0]["field"] == "condition.all[1].not"
    assert error["message"].startswith("invalid condition: condition.all[1].not: operator 'between'")

    error = error_of(client.post("/segments/preview", json={"condition": {"all": [{"field": "x"}]}}), 422)
    assert error["details"][0]["field"] == "condition.all[0].op"
    error = error_of(
        client.post("/segments", json={"name": "Bad", "condition": {"field": "city\x00", "op": "empty"}}), 422
    )
    assert error["details"] == [{"field": "condition.field", "message": error["details"][0]["message"]}]

    invalid_input = error_of(client.post("/segments", json={"name": "", "condition": riga()}), 422)
    assert invalid_input["details"][0]["field"] == "name"
    invalid_input = error_of(
        client.post("/segments", json={"name": "X", "condition": riga(), "recompute_minutes": 0}), 422
    )
    assert invalid_input["details"][0]["field"] == "recompute_minutes"
    assert client.get("/segments").json() == {"items": [], "total": 0}


def test_preview_is_live_and_matches_the_condition(client: httpx.Client) -> None:
    people(client)
    preview = client.post("/segments/preview", json={"condition": riga(), "sample": 1})
    assert preview.status_code == 200, preview.text
    assert preview.json()["count"] == 2
    assert preview.json()["sample"] == [
        {
            "external_id": "ann",
            "email": "ann@example.com",
            "phone": None,
            "first_name": "Ann",
            "last_name": None,
            "city": "Riga",
        }
    ]
    assert client.get("/segments").json()["total"] == 0  # nothing stored

    segment_id = client.post("/segments", json={"name": "Riga", "condition": riga()}).json()["id"]
    add_customers(client, {"external_id": "dan", "city": "Riga"})
    saved = client.get(f"/segments/{segment_id}/preview", params={"sample": 0}).json()
    assert (saved["count"], saved["sample"]) == (3, [])
    assert client.get(f"/segments/{segment_id}").json()["size"] == 2  # stored membership unchanged
    assert error_of(client.get(f"/segments/{segment_id}/preview", params={"sample": 101}), 422)["code"] == (
        "invalid_input"
    )


def test_recompute_and_members(client: httpx.Client) -> None:
    people(client)
    segment_id = client.post("/segments", json={"name": "Riga", "condition": riga()}).json()["id"]
    client.post("/clock/advance", json={"by": "PT10M"})
    add_customers(client, {"external_id": "bob", "city": "Tallinn"}, {"external_id": "dan", "city": "Riga"})

    done = client.post(f"/segments/{segment_id}/recompute")
    assert done.status_code == 200, done.text
    assert done.json() == {
        "segment_id": segment_id,
        "entered": 1,
        "left": 1,
        "size": 2,
        "computed_at": "2026-01-05T10:10:00Z",
        "next_recompute_at": "2026-01-05T16:10:00Z",
        "baseline": False,
    }
    members = client.get(f"/segments/{segment_id}/members").json()
    assert members == {
        "segment_id": segment_id,
        "size": 2,
        "computed_at": "2026-01-05T10:10:00Z",
        "items": [
            {"external_id": "ann", "since": "2026-01-05T10:00:00Z"},
            {"external_id": "dan", "since": "2026-01-05T10:10:00Z"},
        ],
    }
    page = client.get(f"/segments/{segment_id}/members", params={"limit": 1, "offset": 1}).json()
    assert [item["external_id"] for item in page["items"]] == ["dan"]
    assert error_of(client.post("/segments/999/recompute"), 404)["code"] == "not_found"
    assert error_of(client.get("/segments/999/members"), 404)["code"] == "not_found"


def test_the_clock_runs_scheduled_recomputes_and_newcomers_enter_the_campaign(client: httpx.Client) -> None:
    people(client)
    segment_id = client.post("/segments", json={"name": "Riga", "condition": riga(), "recompute_minutes": 60}).json()[
        "id"
    ]
    trigger = {"id": "trigger", "type": "getting_into_segment", "config": {"segment_id": segment_id}}
    campaign_id = start_campaign(client, campaign(email_node("e1"), edges=[("trigger", "e1")], trigger=trigger))
    add_customers(client, {"external_id": "cid", "city": "Riga"})

    advanced = client.post("/clock/advance", json={"by": "PT1H"})
    assert advanced.status_code == 200, advanced.text
    assert advanced.json()["entered"] == 1

    assert [mail["recipient"] for mail in client.get("/mailbox").json()["items"]] == ["cid@example.com"]
    stats = client.get(f"/campaigns/{campaign_id}/stats").json()
    assert stats["nodes"][0]["performed"] == 1
    assert client.get(f"/segments/{segment_id}").json()["last_computed_at"] == "2026-01-05T11:00:00Z"

    error = error_of(client.delete(f"/segments/{segment_id}"), 409)
    assert error["details"] == {"campaigns": [campaign_id]}

    missing = {"id": "trigger", "type": "getting_into_segment", "config": {"segment_id": 999}}
    error = error_of(
        client.post("/campaigns", json=campaign(email_node("e1"), edges=[("trigger", "e1")], trigger=missing)), 422
    )
    assert error["details"][0]["field"] == "config.segment_id"
