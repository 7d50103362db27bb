"""A bonus campaign against a loyalty HTTP server that times out, fails and succeeds: every customer the program
confirmed continues, the refused ones drop out with the program's reason, and no bonus is accrued twice."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.actions.helpers import node, node_metrics
from tests.engine.helpers import (
    add_customers,
    advance,
    campaign,
    counters,
    start,
    trace,
    unbalanced_counters,
    wait_node,
)
from tests.engine.helpers import where_is as where
from tests.loyalty.conftest import MAX_ATTEMPTS
from tests.loyalty.fake_server import FakeLoyalty
from tidings.services import Services
from tidings.store.tables import loyalty_requests

SCRIPTS = {
    "fine": [],
    "slow": ["slow"],  # applied at the first call, which timed out; the retry is answered as a replay
    "flaky": ["503", "500", "429"],
    "blocked": ["reject:customer_blocked"],
    "down": ["503"] * MAX_ATTEMPTS,
}


def requests_by_customer(services: Services, ids: dict[str, int]) -> dict[str, dict[str, Any]]:
    names = {customer_id: name for name, customer_id in ids.items()}
    with services.db.engine.connect() as conn:
        rows = conn.execute(select(loyalty_requests)).mappings()
        return {names[row["customer_id"]]: dict(row) for row in rows}


def test_timeouts_failures_and_successes_accrue_each_bonus_once(
    http_services: Services, loyalty_server: FakeLoyalty
) -> None:
    services = http_services
    ids = add_customers(services, *({"external_id": name} for name in SCRIPTS))
    for name, steps in SCRIPTS.items():
        loyalty_server.script(name, *steps)
    document = campaign(
        node("b1", "accrue_bonus_points", amount=250, expiry_date="2026-12-31", partner="P-7", description="Gift"),
        wait_node("w1", 7),
        edges=[("trigger", "b1"), ("b1", "w1")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(SCRIPTS), None)

    advance(services, seconds=30)  # the first retries are due after 60 s
    assert where(services, ids["fine"]) == ["w1"]
    assert all(where(services, ids[name]) == ["b1"] for name in ("slow", "flaky", "down"))  # held, retrying
    assert where(services, ids["blocked"]) == []

    advance(services, days=1)
    for name in ("fine", "slow", "flaky"):
        assert where(services, ids[name]) == ["w1"], name
        assert trace(services, ids[name])[-1] == ("b1", "performed", "out", None)
        assert len(loyalty_server.bonuses_of(name)) == 1, name  # applied once, however often it was sent
        assert len(set(loyalty_server.keys_of(name))) == 1, name  # always under the same key
    assert trace(services, ids["blocked"])[-1] == ("b1", "dropped", None, "loyalty:customer_blocked")
    assert trace(services, ids["down"])[-1] == ("b1", "dropped", None, "loyalty:unavailable")
    assert loyalty_server.bonuses_of("blocked") == [] and loyalty_server.bonuses_of("down") == []

    [accrual] = loyalty_server.bonuses_of("fine")
    key = f"tidings:{campaign_id}:"
    assert accrual["key"].startswith(key) and accrual["key"].endswith(f":b1:{ids['fine']}")
    assert {k: accrual[k] for k in ("customer", "amount", "expiry_date", "partner", "description", "campaign_id")} == {
        "customer": "fine",
        "amount": 250,
        "expiry_date": "2026-12-31",
        "partner": "P-7",
        "description": "Gift",
        "campaign_id": campaign_id,
    }
    rows = requests_by_customer(services, ids)
    assert {name: (row["status"], row["attempts"]) for name, row in rows.items()} == {
        "fine": ("done", 1),
        "slow": ("done", 2),
        "flaky": ("done", 4),
        "blocked": ("failed", 1),
        "down": ("failed", MAX_ATTEMPTS),
    }
    assert rows["blocked"]["error"] == "customer_blocked: refused: customer_blocked"
    assert node_metrics(counters(services, campaign_id), "b1") == {
        "entered": 5,
        "performed": 3,
        "port:out": 3,
        "dropped:loyalty:customer_blocked": 1,
        "dropped:loyalty:unavailable": 1,
    }
    assert unbalanced_counters(services, campaign_id) == {}


def test_a_paused_campaigns_bonuses_wait_and_a_stopped_campaigns_are_not_sent(
    http_services: Services, loyalty_server: FakeLoyalty
) -> None:
    services = http_services
    ids = add_customers(services, {"external_id": "ann"}, {"external_id": "bob"})
    loyalty_server.script("ann", "503")
    loyalty_server.script("bob", "503")
    document = campaign(node("b1", "accrue_bonus_points", amount=5), edges=[("trigger", "b1")])
    paused_id, stopped_id = start(services, document), start(services, document)
    services.campaigns.enroll(paused_id, ["ann"], None)
    services.campaigns.enroll(stopped_id, ["bob"], None)
    advance(services, seconds=30)  # one failed attempt each; the retries are due in 60 s
    services.campaigns.transition(paused_id, "pause")
    services.campaigns.transition(stopped_id, "stop")
    advance(services, days=1)

    rows = requests_by_customer(services, ids)
    assert (rows["ann"]["status"], rows["ann"]["attempts"]) == ("pending", 1)  # frozen with its customer
    assert (rows["bob"]["status"], rows["bob"]["attempts"]) == ("failed", 2)
    assert rows["bob"]["response"] == {"reason": "campaign_stopped"}
    assert len(loyalty_server.keys_of("bob")) == 1  # the attempt after the stop was not sent

    services.campaigns.transition(paused_id, "activate")
    advance(services, minutes=1)
    assert requests_by_customer(services, ids)["ann"]["status"] == "done"
    assert where(services, ids["ann"]) == []  # confirmed, and the campaign ends after the node
    assert len(loyalty_server.bonuses_of("ann")) == 1 and loyalty_server.bonuses_of("bob") == []
