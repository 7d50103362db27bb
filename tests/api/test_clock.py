from __future__ import annotations

import httpx

from tests.api.conftest import api_client
from tests.api.helpers import add_customers, error_of, start_campaign
from tests.engine.helpers import campaign, email_node, wait_node
from tidings.services import Services
from tidings.settings import Settings


def test_read_and_advance(client: httpx.Client) -> None:
    assert client.get("/clock").json() == {"clock": "manual", "now": "2026-01-05T10:00:00Z"}
    by = client.post("/clock/advance", json={"by": "PT2H"})
    assert by.json() == {"now": "2026-01-05T12:00:00Z", "entered": 0, "chunks": 0, "delivered": 0}
    to = client.post("/clock/advance", json={"to": "2026-01-08T09:00:00+01:00"})
    assert to.json()["now"] == "2026-01-08T08:00:00Z"
    assert client.get("/clock").json()["now"] == "2026-01-08T08:00:00Z"
    assert client.post("/clock/advance", json={"by": "P0D"}).json()["now"] == "2026-01-08T08:00:00Z"


def test_advancing_runs_what_became_due(client: httpx.Client) -> None:
    add_customers(client, {"external_id": "ann", "email": "ann@example.com"})
    document = campaign(wait_node("w1", 3), email_node("e1"), edges=[("trigger", "w1"), ("w1", "e1")])
    campaign_id = start_campaign(client, document)
    client.post(f"/campaigns/{campaign_id}/enroll", json={"customers": ["ann"]})
    early = client.post("/clock/advance", json={"by": "P2D"}).json()
    assert (early["chunks"], early["delivered"]) == (0, 0)
    assert client.get("/mailbox").json()["items"] == []
    late = client.post("/clock/advance", json={"by": "P1D"}).json()
    assert (late["chunks"], late["delivered"]) == (1, 1)  # one chunk: released from the wait, it sends at once
    assert client.get("/mailbox").json()["items"][0]["received_at"] == "2026-01-08T10:00:00Z"


def test_bad_advances_are_422(client: httpx.Client) -> None:
    for body, field in [({"to": "2026-01-05T09:00:00Z"}, "to"), ({"by": "-PT1H"}, "by"), ({"by": "P4000D"}, "by")]:
        error = error_of(client.post("/clock/advance", json=body), 422)
        assert error["details"][0]["field"] == field, body
    assert (
        "cannot go back" in error_of(client.post("/clock/advance", json={"to": "2026-01-01T00:00:00Z"}), 422)["message"]
    )
    for body in ({}, {"to": "2026-01-06T00:00:00Z", "by": "P1D"}):
        assert "exactly one" in error_of(client.post("/clock/advance", json=body), 422)["message"]
    assert (
        error_of(client.post("/clock/advance", json={"to": "2026-01-06T00:00:00"}), 422)["details"][0]["field"] == "to"
    )
    assert error_of(client.post("/clock/advance", json={"by": "soon"}), 422)["details"][0]["field"] == "by"
    assert client.get("/clock").json()["now"] == "2026-01-05T10:00:00Z"


def test_the_system_clock_cannot_be_advanced(database_url: str) -> None:
    services = Services.build(Settings(database_url=database_url, clock="system"))
    try:
        with api_client(services) as client:  # an admin: only the clock's mode stands in the way
            error = error_of(client.post("/clock/advance", json={"by": "PT1H"}), 409)
            assert error["code"] == "conflict"
            assert "TIDINGS_CLOCK=manual" in error["message"]
            assert client.get("/clock").json()["clock"] == "system"
    finally:
        services.close()
