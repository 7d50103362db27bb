"""Audiences over HTTP: unique names (409), list with size and dates, members by external id with unknown ids
reported, and CSV uploads (one column into an audience, or external_id;audience pairs)."""

from __future__ import annotations

import httpx

from tests.api.helpers import add_customers, error_of


def people(client: httpx.Client) -> None:
    add_customers(client, *({"external_id": name} for name in ("ann", "bob", "cid", "dan")))


def test_create_rename_list_and_delete_with_unique_names(client: httpx.Client) -> None:
    created = client.post("/audiences", json={"name": "VIP"})
    assert created.status_code == 201, created.text
    vip = created.json()
    assert vip == {
        "id": vip["id"],
        "name": "VIP",
        "size": 0,
        "created_at": "2026-01-05T10:00:00Z",
        "updated_at": "2026-01-05T10:00:00Z",
    }
    error = error_of(client.post("/audiences", json={"name": "VIP"}), 409)
    assert error["code"] == "conflict"
    assert error["details"] == {"name": "VIP", "audience_id": vip["id"]}

    laptop = client.post("/audiences", json={"name": "Laptop 2019"}).json()
    assert error_of(client.patch(f"/audiences/{laptop['id']}", json={"name": "VIP"}), 409)["code"] == "conflict"
    client.post("/clock/advance", json={"by": "PT1H"})
    renamed = client.patch(f"/audiences/{laptop['id']}", json={"name": "Laptop 2020"}).json()
    assert (renamed["name"], renamed["updated_at"]) == ("Laptop 2020", "2026-01-05T11:00:00Z")

    listed = client.get("/audiences").json()
    assert listed["total"] == 2
    assert [(item["name"], item["size"]) for item in listed["items"]] == [("VIP", 0), ("Laptop 2020", 0)]

    assert client.delete(f"/audiences/{vip['id']}").status_code == 204
    assert error_of(client.get(f"/audiences/{vip['id']}"), 404)["code"] == "not_found"
    assert error_of(client.delete(f"/audiences/{vip['id']}"), 404)["code"] == "not_found"
    assert error_of(client.post("/audiences", json={"name": ""}), 422)["details"][0]["field"] == "name"
    assert error_of(client.post("/audiences", json={"name": "   "}), 422)["code"] == "invalid_input"


def test_members_are_added_and_removed_by_external_id_and_unknown_ids_reported(client: httpx.Client) -> None:
    people(client)
    audience_id = client.post("/audiences", json={"name": "VIP"}).json()["id"]

    changed = client.post(f"/audiences/{audience_id}/members", json={"add": ["ann", "bob", "zed"]})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        "audience_id": audience_id,
        "added": 2,
        "already_members": 0,
        "removed": 0,
        "not_members": 0,
        "unknown_customers": ["zed"],
        "size": 2,
    }
    changed = client.post(f"/audiences/{audience_id}/members", json={"add": ["cid", "ann"], "remove": ["bob", "yan"]})
    assert {key: changed.json()[key] for key in ("added", "already_members", "removed", "unknown_customers")} == {
        "added": 1,
        "already_members": 1,
        "removed": 1,
        "unknown_customers": ["yan"],
    }
    members = client.get(f"/audiences/{audience_id}/members").json()
    assert members["size"] == 2
    assert [(item["external_id"], item["added_at"]) for item in members["items"]] == [
        ("ann", "2026-01-05T10:00:00Z"),
        ("cid", "2026-01-05T10:00:00Z"),
    ]
    assert client.get(f"/audiences/{audience_id}").json()["size"] == 2

    error = error_of(client.post(f"/audiences/{audience_id}/members", json={"add": ["x1"]}), 422)
    assert error["details"] == {"unknown_customers": ["x1"]}
    assert error_of(client.post(f"/audiences/{audience_id}/members", json={}), 422)["code"] == "invalid_input"
    error = error_of(client.post(f"/audiences/{audience_id}/members", json={"add": ["ann"], "drop": ["bob"]}), 422)
    assert error["details"][0]["field"] == "drop"
    assert error_of(client.post("/audiences/999/members", json={"add": ["ann"]}), 404)["code"] == "not_found"


def test_a_one_column_csv_goes_into_the_audience_it_is_uploaded_to(client: httpx.Client) -> None:
    people(client)
    audience_id = client.post("/audiences", json={"name": "VIP"}).json()["id"]
    body = b"external_id\nann\nbob\nzed\n"

    uploaded = client.post(f"/audiences/{audience_id}/import", content=body, headers={"content-type": "text/csv"})

    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json() == {
        "rows": 3,
        "added": 2,
        "already_members": 0,
        "failed": 1,
        "audiences_created": [],
        "errors": [{"line": 4, "external_id": "zed", "audience": None, "message": "unknown customer 'zed'"}],
        "errors_omitted": 0,
    }
    assert client.get(f"/audiences/{audience_id}").json()["size"] == 2
    missing = client.post("/audiences/999/import", content=body, headers={"content-type": "text/csv"})
    assert error_of(missing, 404)["code"] == "not_found"


def test_pairs_create_audiences_by_name_and_a_named_upload_creates_its_audience(client: httpx.Client) -> None:
    people(client)
    client.post("/audiences", json={"name": "VIP"})
    pairs = b"ann;VIP\nbob;Laptop 2019\ncid;Laptop 2019\ndan\n"

    uploaded = client.post("/audiences/import", content=pairs, headers={"content-type": "text/csv; charset=utf-8"})

    assert uploaded.status_code == 200, uploaded.text
    report = uploaded.json()
    assert (report["rows"], report["added"], report["failed"]) == (4, 3, 1)
    assert report["audiences_created"] == ["Laptop 2019"]
    assert report["errors"][0]["line"] == 4
    sizes = {item["name"]: item["size"] for item in client.get("/audiences").json()["items"]}
    assert sizes == {"VIP": 1, "Laptop 2019": 2}

    named = client.post(
        "/audiences/import", params={"audience": "Loyal"}, content=b"dan\n", headers={"content-type": "text/plain"}
    )
    assert (named.json()["added"], named.json()["audiences_created"]) == (1, ["Loyal"])


def test_uploads_that_are_not_a_csv_body_are_refused(client: httpx.Client) -> None:
    audience_id = client.post("/audiences", json={"name": "VIP"}).json()["id"]
    multipart = client.post(f"/audiences/{audience_id}/import", files={"file": ("ids.csv", b"ann\n", "text/csv")})
    error = error_of(multipart, 415)
    assert error["code"] == "unsupported_media_type"
    assert "text/csv" in error["message"]
    empty = client.post(f"/audiences/{audience_id}/import", content=b"", headers={"content-type": "text/csv"})
    assert error_of(empty, 422)["code"] == "invalid_input"
