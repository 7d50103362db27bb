"""Users (the managers of Notify manager) and a customer's responsible manager."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from tests.api.helpers import add_customers, error_of
from tidings.services import Services
from tidings.store.tables import customers

NOW = "2026-01-05T10:00:00Z"


def add_user(client: httpx.Client, email: str, name: str, role: str = "manager") -> int:
    created = client.post("/users", json={"email": email, "name": name, "role": role})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def test_add_list_and_read_users(client: httpx.Client) -> None:
    created = client.post("/users", json={"email": "Mia@Example.com", "name": "Mia", "role": "manager"})
    assert created.status_code == 201, created.text
    mia = created.json()
    assert mia == {"id": mia["id"], "email": "mia@example.com", "name": "Mia", "role": "manager", "created_at": NOW}
    add_user(client, "root@example.com", "Root", "admin")
    add_user(client, "leo@example.com", "Leo")

    page = client.get("/users").json()
    assert [item["name"] for item in page["items"]] == ["Mia", "Root", "Leo"]
    assert (page["total"], page["limit"], page["offset"]) == (3, 100, 0)
    managers = client.get("/users", params={"role": "manager"}).json()
    assert ([item["name"] for item in managers["items"]], managers["total"]) == (["Mia", "Leo"], 2)
    assert client.get("/users", params={"role": "admin", "limit": 1}).json()["items"][0]["name"] == "Root"
    assert client.get(f"/users/{mia['id']}").json() == mia
    assert error_of(client.get("/users/999"), 404)["details"] == {"id": 999}
    error_of(client.get("/users", params={"role": "owner"}), 422)


def test_users_are_validated_and_emails_unique(client: httpx.Client) -> None:
    mia = add_user(client, "mia@example.com", "Mia")
    error = error_of(client.post("/users", json={"email": "MIA@example.com", "name": "Other", "role": "admin"}), 409)
    assert error["code"] == "conflict"
    assert error["details"] == {"email": "mia@example.com", "id": mia}
    for body, field in (
        ({"email": "not-an-address", "name": "X", "role": "manager"}, "email"),
        ({"email": "x@example.com", "name": "", "role": "manager"}, "name"),
        ({"email": "x@example.com", "name": "X", "role": "owner"}, "role"),
        ({"email": "x@example.com", "name": "X"}, "role"),
        ({"email": "x@example.com", "name": "X", "role": "manager", "password": "secret"}, "password"),
    ):
        assert error_of(client.post("/users", json=body), 422)["details"][0]["field"] == field, body
    assert client.get("/users").json()["total"] == 1


def test_assign_and_remove_a_customers_manager(client: httpx.Client, services: Services) -> None:
    add_customers(client, {"external_id": "ann"}, {"external_id": "bob"})
    mia = add_user(client, "mia@example.com", "Mia")
    root = add_user(client, "root@example.com", "Root", "admin")
    assert client.get("/customers/ann/manager").json() == {"customer": "ann", "manager": None}

    assigned = client.put("/customers/ann/manager", json={"user": mia})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["manager"]["id"] == mia
    assert client.get("/customers/ann/manager").json()["manager"]["email"] == "mia@example.com"
    assert client.put("/customers/ann/manager", json={"user": root}).json()["manager"]["role"] == "admin"
    with services.db.engine.connect() as conn:
        stored = dict(conn.execute(select(customers.c.external_id, customers.c.manager_id)).all())
    assert stored == {"ann": root, "bob": None}

    assert client.put("/customers/ann/manager", json={"user": None}).json() == {"customer": "ann", "manager": None}
    assert client.get("/customers/ann/manager").json()["manager"] is None


def test_manager_assignment_is_validated(client: httpx.Client) -> None:
    add_customers(client, {"external_id": "ann"})
    mia = add_user(client, "mia@example.com", "Mia")
    client.put("/customers/ann/manager", json={"user": mia})
    error = error_of(client.put("/customers/ann/manager", json={"user": 999}), 422)
    assert "user 999 does not exist" in error["message"]
    assert error["details"][0]["field"] == "user"
    for body in ({}, {"user": 0}, {"user": "mia"}, {"user": mia, "note": "x"}, {"user": 2**63}):
        error_of(client.put("/customers/ann/manager", json=body), 422)
    assert client.get("/customers/ann/manager").json()["manager"]["id"] == mia  # unchanged by refused requests
    error_of(client.put("/customers/nobody/manager", json={"user": mia}), 404)
    error_of(client.get("/customers/nobody/manager"), 404)
