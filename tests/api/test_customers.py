from __future__ import annotations

import httpx
from sqlalchemy import func, select

from tests.api.helpers import add_customers, error_of
from tests.engine.helpers import campaign, email_node, wait_node
from tidings.services import Services
from tidings.store.tables import customers


def test_upsert_then_read_the_profile(client: httpx.Client) -> None:
    assert client.post("/custom-fields", json={"code": "tier", "name": "Tier", "type": "text"}).status_code == 201
    add_customers(
        client,
        {
            "external_id": "c1",
            "email": "ann@example.com",
            "phone": "+371 2000 0000",
            "first_name": "Ann",
            "birthday": "1990-04-01",
            "timezone": "Europe/Riga",
            "registered_at": "2025-12-01T08:00:00+02:00",
            "attributes": {"tier": "gold"},
            "subscriptions": {"email": True, "sms": False},
        },
    )
    profile = client.get("/customers/c1").json()
    assert profile["email"] == "ann@example.com"
    assert profile["phone"] == "+37120000000"
    assert profile["birthday"] == "1990-04-01"
    assert profile["registered_at"] == "2025-12-01T06:00:00Z"
    assert profile["attributes"] == {"tier": "gold"}
    assert profile["subscriptions"] == {"email": True, "sms": False}
    assert profile["points"] == 0
    assert profile["last_name"] is None


def test_fields_left_out_keep_their_value_and_null_clears(client: httpx.Client) -> None:
    add_customers(client, {"external_id": "c1", "email": "ann@example.com", "city": "Riga"})
    add_customers(client, {"external_id": "c1", "first_name": "Ann", "city": None})
    profile = client.get("/customers/c1").json()
    assert (profile["email"], profile["first_name"], profile["city"]) == ("ann@example.com", "Ann", None)


def test_a_malformed_row_is_reported_and_the_good_rows_are_stored(client: httpx.Client) -> None:
    response = client.post(
        "/customers",
        json={
            "customers": [
                {"external_id": "good1", "email": "one@example.com"},
                {"external_id": "bad1", "birthday": "the first of April"},
                {"external_id": "good2", "email": "two@example.com"},
                {"external_id": "bad2", "favourite_colour": "blue"},
                "not an object",
                {"email": "nobody@example.com"},
            ]
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["upserted"] == 2
    assert [(e["index"], e["external_id"], e["field"]) for e in body["errors"]] == [
        (1, "bad1", "birthday"),
        (3, "bad2", "favourite_colour"),
        (4, None, None),
        (5, None, "external_id"),
    ]
    assert body["errors"][1]["message"] == "unknown field"
    assert client.get("/customers/good1").json()["email"] == "one@example.com"
    assert client.get("/customers/good2").json()["email"] == "two@example.com"
    assert error_of(client.get("/customers/bad1"), 404)["code"] == "not_found"


def test_all_rows_bad_is_422_with_the_same_errors(client: httpx.Client, services: Services) -> None:
    error = error_of(
        client.post(
            "/customers",
            json={
                "customers": [
                    {"external_id": "a", "gender": "robot"},
                    {"external_id": "b", "timezone": "Mars/Olympus"},
                ]
            },
        ),
        422,
    )
    assert error["code"] == "invalid_input"
    assert [(e["index"], e["external_id"], e["field"]) for e in error["details"]] == [
        (0, "a", "gender"),
        (1, "b", "timezone"),
    ]
    assert "Mars/Olympus" in error["details"][1]["message"]
    with services.db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(customers)).scalar_one() == 0


def test_a_customer_named_twice_in_a_batch_applies_in_order(client: httpx.Client) -> None:
    response = client.post(
        "/customers",
        json={
            "customers": [
                {"external_id": "c1", "email": "old@example.com", "city": "Riga", "subscriptions": {"email": True}},
                {"external_id": "c2", "email": "other@example.com"},
                {"external_id": "c1", "email": "new@example.com", "subscriptions": {"sms": True}},
            ]
        },
    )
    assert response.json() == {"upserted": 3, "errors": [], "withheld": []}
    profile = client.get("/customers/c1").json()
    assert (profile["email"], profile["city"]) == ("new@example.com", "Riga")
    assert profile["subscriptions"] == {"email": True, "sms": True}
    assert client.get("/customers/c2").json()["email"] == "other@example.com"


#: One customer's rows in a batch whose later consent maps are empty or null (the bulk import has the same case).
REPEATED_CONSENTS = [
    {"external_id": "c1", "subscriptions": {"email": False}},
    {"external_id": "c1", "first_name": "Ann", "subscriptions": {}},
    {"external_id": "c1", "subscriptions": {"sms": False}},
    {"external_id": "c1", "city": "Riga", "subscriptions": None},
]


def test_an_empty_or_null_consent_map_in_a_repeated_row_changes_no_consent(client: httpx.Client) -> None:
    """As if the rows were sent one by one: consents add up channel by channel, and an empty or null map keeps
    them (``model.customers.merge_duplicates``, shared with the bulk import)."""
    assert client.post("/customers", json={"customers": REPEATED_CONSENTS}).json() == {
        "upserted": 4,
        "errors": [],
        "withheld": [],
    }
    profile = client.get("/customers/c1").json()
    assert profile["subscriptions"] == {"email": False, "sms": False}
    assert (profile["first_name"], profile["city"]) == ("Ann", "Riga")


def test_a_nul_character_is_a_row_error_not_a_server_error(client: httpx.Client) -> None:
    response = client.post(
        "/customers",
        json={
            "customers": [
                {"external_id": "ok"},
                {"external_id": "nul", "attributes": {"note": "a\u0000b"}},
            ]
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["errors"] == [
        {
            "index": 1,
            "external_id": "nul",
            "field": "attributes.note",
            "message": r"text must not contain NUL characters (\u0000)",
        }
    ]


def test_batch_limits(client: httpx.Client) -> None:
    assert error_of(client.post("/customers", json={"customers": []}), 422)["details"][0]["field"] == "customers"
    too_many = [{"external_id": str(n)} for n in range(10_001)]
    error = error_of(client.post("/customers", json={"customers": too_many}), 422)
    assert error["details"][0]["field"] == "customers"
    assert "10000" in error["message"]
    assert error_of(client.post("/customers", json={"rows": []}), 422)["code"] == "invalid_input"


def test_unknown_customer_is_404_naming_it(client: httpx.Client) -> None:
    error = error_of(client.get("/customers/ghost"), 404)
    assert error["code"] == "not_found"
    assert "'ghost'" in error["message"]
    assert error["details"] == {"external_id": "ghost"}
    assert error_of(client.get("/customers/ghost/journeys"), 404)["code"] == "not_found"


def test_journeys_show_steps_and_where_the_customer_waits(client: httpx.Client) -> None:
    add_customers(client, {"external_id": "c1", "email": "ann@example.com"})
    document = campaign(wait_node("w1", 2), email_node("e1"), edges=[("trigger", "w1"), ("w1", "e1")])
    document["nodes"][1]["title"] = "Welcome"  # the title typed in the editor; the others go by their type
    campaign_id = client.post("/campaigns", json=document).json()["id"]
    client.post(f"/campaigns/{campaign_id}/activate")
    assert client.post(f"/campaigns/{campaign_id}/enroll", json={"customers": ["c1"]}).json()["entered"] == 1

    (journey,) = client.get("/customers/c1/journeys").json()["journeys"]
    assert journey["campaign_name"] == "Test campaign"
    assert journey["status"] == "active"
    assert journey["entered_at"] == "2026-01-05T10:00:00Z"
    assert journey["finished_at"] is None
    assert [(s["node"], s["outcome"], s["port"], s["reason"]) for s in journey["steps"]] == [
        ("trigger", "performed", "out", None)
    ]
    assert journey["waiting"] == [
        {"node": "w1", "title": "Wait", "arrived_at": "2026-01-05T10:00:00Z", "due_at": "2026-01-07T10:00:00Z"}
    ]

    client.post("/clock/advance", json={"by": "P2D"})
    (journey,) = client.get("/customers/c1/journeys").json()["journeys"]
    assert journey["status"] == "completed"
    assert journey["finished_at"] == "2026-01-07T10:00:00Z"
    assert [(s["node"], s["title"], s["at"]) for s in journey["steps"]] == [
        ("trigger", "Enrolment by API", "2026-01-05T10:00:00Z"),
        ("w1", "Wait", "2026-01-07T10:00:00Z"),
        ("e1", "Welcome", "2026-01-07T10:00:00Z"),
    ]
    assert journey["waiting"] == []


def test_the_list_pages_and_finds_customers_by_name_email_phone_or_external_id(client: httpx.Client) -> None:
    add_customers(
        client,
        {"external_id": "c-ann", "first_name": "Ann", "last_name": "Berzina", "email": "ann@example.com"},
        {"external_id": "c-bob", "first_name": "Bob", "phone": "+37120000001", "city": "Riga"},
        {"external_id": "c-cat", "first_name": "Cat", "email": "cat_100%@example.com"},
    )
    first = client.get("/customers", params={"limit": 2}).json()
    assert [item["external_id"] for item in first["items"]] == ["c-ann", "c-bob"]
    assert first["has_more"] is True
    rest = client.get("/customers", params={"limit": 2, "offset": 2}).json()
    assert [item["external_id"] for item in rest["items"]] == ["c-cat"]
    assert rest["has_more"] is False
    assert rest["items"][0] == {
        "external_id": "c-cat",
        "first_name": "Cat",
        "last_name": None,
        "email": "cat_100%@example.com",
        "phone": None,
        "city": None,
    }

    def found(query: str) -> list[str]:
        return [item["external_id"] for item in client.get("/customers", params={"q": query}).json()["items"]]

    assert found("ANN@example") == ["c-ann"]  # e-mail, any case
    assert found("ann berz") == ["c-ann"]  # first and last name together
    assert found("20000001") == ["c-bob"]  # phone
    assert found("c-b") == ["c-bob"]  # external id
    assert found("_100%") == ["c-cat"]  # % and _ are letters here, not wildcards
    assert found("0%") == ["c-cat"]
    assert found("1%") == []  # not "1, then anything"
    assert found("nobody") == []
