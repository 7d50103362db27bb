"""Users (who sign in, with a role; some are Notify manager's managers) and a customer's responsible manager."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from tests.api.helpers import add_customers, error_of
from tidings.services import Services
from tidings.store.tables import customers

ADMIN = "admin@tidings.test"  # the shared client's user


def add_user(client: httpx.Client, email: str, name: str, role: str = "marketer", **more: object) -> int:
    created = client.post("/users", json={"email": email, "name": name, "role": role, **more})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def test_add_list_and_read_users(client: httpx.Client) -> None:
    body = {"email": "Mia@Example.com", "name": "Mia", "role": "marketer", "manager": True, "password": "x" * 12}
    created = client.post("/users", json=body)
    assert created.status_code == 201, created.text
    mia = created.json()
    assert mia == {
        "id": mia["id"],
        "email": "mia@example.com",
        "name": "Mia",
        "role": "marketer",
        "manager": True,
        "active": True,
        "can_sign_in": True,
        "created_at": mia["created_at"],
    }
    add_user(client, "root@example.com", "Root", "admin")
    add_user(client, "leo@example.com", "Leo", "analyst")

    page = client.get("/users").json()
    assert [item["name"] for item in page["items"]] == ["Admin", "Mia", "Root", "Leo"]
    assert (page["total"], page["limit"], page["offset"]) == (4, 100, 0)
    assert page["items"][2]["can_sign_in"] is False  # no password
    analysts = client.get("/users", params={"role": "analyst"}).json()
    assert ([item["name"] for item in analysts["items"]], analysts["total"]) == (["Leo"], 1)
    assert client.get("/users", params={"role": "admin", "limit": 1}).json()["items"][0]["email"] == ADMIN
    assert client.get(f"/users/{mia['id']}").json() == mia
    assert error_of(client.get("/users/999"), 404)["details"] == {"id": 999}
    error_of(client.get("/users", params={"role": "owner"}), 422)


def test_users_are_validated_and_emails_unique(client: httpx.Client) -> None:
    mia = add_user(client, "mia@example.com", "Mia")
    error = error_of(client.post("/users", json={"email": "MIA@example.com", "name": "Other", "role": "admin"}), 409)
    assert error["code"] == "conflict"
    assert error["details"] == {"email": "mia@example.com", "id": mia}
    for body, field in (
        ({"email": "not-an-address", "name": "X", "role": "marketer"}, "email"),
        ({"email": "x@example.com", "name": "", "role": "marketer"}, "name"),
        ({"email": "x@example.com", "name": "X", "role": "manager"}, "role"),
        ({"email": "x@example.com", "name": "X"}, "role"),
        ({"email": "x@example.com", "name": "X", "role": "marketer", "password": "short"}, "password"),
        ({"email": "x@example.com", "name": "X", "role": "marketer", "token": "x"}, "token"),
    ):
        assert error_of(client.post("/users", json=body), 422)["details"][0]["field"] == field, body
    assert client.get("/users").json()["total"] == 2


def test_change_a_user(client: httpx.Client) -> None:
    mia = add_user(client, "mia@example.com", "Mia")
    changed = client.patch(f"/users/{mia}", json={"role": "analyst", "manager": True, "active": False, "name": None})
    assert changed.status_code == 200, changed.text
    assert {key: changed.json()[key] for key in ("name", "role", "manager", "active")} == {
        "name": "Mia",  # null leaves a field as it is
        "role": "analyst",
        "manager": True,
        "active": False,
    }
    assert client.patch(f"/users/{mia}", json={"password": "y" * 12}).json()["can_sign_in"] is False  # inactive
    assert error_of(client.patch(f"/users/{mia}", json={"role": "owner"}), 422)["details"][0]["field"] == "role"
    assert error_of(client.patch(f"/users/{mia}", json={"password": "short"}), 422)["details"][0]["field"] == "password"
    error_of(client.patch("/users/999", json={"name": "X"}), 404)


def test_assign_and_remove_a_customers_manager(client: httpx.Client, services: Services) -> None:
    add_customers(client, {"external_id": "ann"}, {"external_id": "bob"})
    mia = add_user(client, "mia@example.com", "Mia", manager=True)
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


def test_the_last_active_admin_stays_one(client: httpx.Client) -> None:
    admin = client.get("/users", params={"role": "admin"}).json()["items"][0]["id"]
    for change in ({"role": "marketer"}, {"active": False}):
        assert error_of(client.patch(f"/users/{admin}", json=change), 409)["details"] == {"id": admin}
    other = add_user(client, "root@example.com", "Root", "admin")
    assert client.patch(f"/users/{other}", json={"active": False}).status_code == 200  # another admin remained
    assert error_of(client.patch(f"/users/{admin}", json={"active": False}), 409)["details"] == {"id": admin}
    assert client.patch(f"/users/{other}", json={"active": True}).status_code == 200
    assert client.patch(f"/users/{admin}", json={"role": "analyst"}).json()["role"] == "analyst"
    assert client.get("/users").status_code == 403  # a role change counts at once, for the signed-in user too
