"""Property: for random condition trees over random customers (orders, events, subscriptions, memberships,
messages, campaign entries, custom attributes of every type, stored values of the wrong type), the compiled SQL
selects exactly the customers the reference evaluator (``reference.py``) selects — on SQLite and PostgreSQL.

Values are drawn from small pools placed on the edges that matter: account midnights in several time zones,
period bounds, thresholds equal to stored values, unknown (NULL) values, mixed-case text."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.segments.world import NOW, World

TODAY = NOW.date()
ZONES = ("UTC", "Europe/Riga", "America/New_York", "Asia/Tokyo")

# -- data ---------------------------------------------------------------------------------------------------
INSTANTS = st.builds(
    lambda days, minutes: NOW + timedelta(days=days, minutes=minutes),
    st.sampled_from([0, -1, -2, -3, -7, -8, -30, -31, -365, 1]),
    st.sampled_from([-1141, -1140, -1139, -601, -600, -599, -301, -300, -1, 0, 200, 780]),
)
DAYS = st.sampled_from([TODAY - timedelta(days=k) for k in (0, 1, 3, 7, 8, 30, 365)] + [date(1990, 1, 5)])
OPTIONAL_DAYS = st.one_of(st.none(), DAYS, st.just(date(1990, 1, 6)))


def iso(moment: datetime, zone: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    text = local.isoformat()
    return text.replace("+00:00", "Z")


ATTRIBUTES = st.fixed_dictionaries(
    {},
    optional={
        "tier": st.sampled_from(["gold", "Gold", "silver", "", 7, True, None]),
        "size": st.sampled_from([42, 41.5, "41.5", "42", "x", "1e5", True, None, -3, "-3.25"]),
        "vip": st.sampled_from([True, False, "true", None, 1]),
        "joined": st.one_of(DAYS.map(date.isoformat), st.sampled_from(["2026-1-5", 20260105, None])),
        "seen": st.one_of(
            st.builds(iso, INSTANTS, st.sampled_from(["UTC", "Europe/Riga", "America/New_York"])),
            st.sampled_from(["2026-01-04 10:00", "2026-01-04T10:00:00.5+03:00", None]),
        ),
    },
)

CUSTOMERS = st.fixed_dictionaries(
    {
        "city": st.sampled_from([None, "", "Riga", "riga", "Tallinn", "Rīga 100%"]),
        "first_name": st.sampled_from([None, "Ann", "ann", "Ann_e", "Bo%"]),
        "birthday": OPTIONAL_DAYS,
        "registered_at": st.one_of(st.none(), INSTANTS),
        "points_balance": st.sampled_from([0, 10, 10.5, 99.99, 150]),
        "attributes": ATTRIBUTES,
        "email": st.sampled_from([None, "Y", "N"]),
        "news": st.sampled_from([None, "Y", "N"]),
        "audiences": st.sets(st.sampled_from([1, 2])),
        "segments": st.sets(st.sampled_from([1, 2])),
        "orders": st.lists(
            st.fixed_dictionaries(
                {
                    "kind": st.sampled_from(["order", "receipt"]),
                    "status": st.sampled_from(["paid", "cancelled"]),
                    "store": st.sampled_from([None, "riga", "tallinn"]),
                    "total": st.sampled_from([0, 20, 50, 100, "150.5", 300]),
                    "placed_at": INSTANTS,
                    "lines": st.lists(
                        st.tuples(
                            st.sampled_from(["shoe", "sock", "bag"]),
                            st.sampled_from([None, "footwear", "bags"]),
                            st.sampled_from([10, 20, "30.5"]),
                        ),
                        max_size=2,
                    ),
                }
            ),
            max_size=3,
        ),
        "events": st.lists(
            st.tuples(
                st.sampled_from(["viewed", "bought"]),
                st.fixed_dictionaries(
                    {},
                    optional={
                        "product": st.sampled_from(["bag", "shoe"]),
                        "price": st.sampled_from([10, 45, "45.5", "cheap"]),
                    },
                ),
                INSTANTS,
            ),
            max_size=3,
        ),
        "messages": st.lists(
            st.fixed_dictionaries(
                {
                    "campaign": st.sampled_from([1, 2]),
                    "node": st.sampled_from(["e1", "e2"]),
                    "channel": st.sampled_from(["email", "sms"]),
                    "sent_at": st.one_of(st.none(), INSTANTS),
                    "delivered_at": st.one_of(st.none(), INSTANTS),
                    "opened_at": st.one_of(st.none(), INSTANTS),
                    "clicked_at": st.one_of(st.none(), INSTANTS),
                }
            ),
            max_size=2,
        ),
        "entries": st.lists(st.tuples(st.sampled_from([1, 2]), INSTANTS), max_size=2),
    }
)


def build(world: World, people: list[dict[str, Any]]) -> None:
    with world.batch():
        fill(world, people)


def fill(world: World, people: list[dict[str, Any]]) -> None:
    world.clear()
    for code, kind in (
        ("tier", "text"),
        ("size", "number"),
        ("vip", "boolean"),
        ("joined", "date"),
        ("seen", "datetime"),
    ):
        world.declare(code, kind)
    world.category("news")
    for ident in (1, 2):
        world.audience(ident)
        world.segment(ident)
        world.campaign(ident)
    for index, person in enumerate(people):
        profile = {key: person[key] for key in ("city", "first_name", "birthday", "registered_at", "points_balance")}
        who = world.customer(f"c{index}", attributes=person["attributes"], **profile)
        if person["email"]:
            world.channel(who, "email", person["email"])
        if person["news"]:
            world.subscribe(who, "news", "email", person["news"])
        for audience in person["audiences"]:
            world.join_audience(who, audience)
        for segment in person["segments"]:
            world.join_segment(who, segment)
        for order in person["orders"]:
            details = {key: value for key, value in order.items() if key not in ("total", "placed_at")}
            world.order(who, order["total"], order["placed_at"], **details)
        for name, properties, moment in person["events"]:
            world.event(who, name, moment, **properties)
        for message in person["messages"]:
            times = {key: value for key, value in message.items() if key.endswith("_at")}
            world.message(who, message["campaign"], message["node"], message["channel"], **times)
        for campaign, moment in person["entries"]:
            world.entry(who, campaign, moment)


# -- conditions ---------------------------------------------------------------------------------------------
def leaf(field: str, ops: list[str], values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(lambda op, value: {"field": field, "op": op, "value": value}, st.sampled_from(ops), values)


def bare(field: str, ops: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from([{"field": field, "op": op} for op in ops])


def pair(values: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(values, min_size=2, max_size=2).map(sorted)


TEXT_VALUES = st.sampled_from(["Riga", "riga", "Rīga 100%", "", "100%", "Ann", "ann", "Ann_", "Bo%", "gold", "Gold"])
NUMBERS = st.sampled_from([0, 10, 10.5, 41.5, 42, 99.99, 100, 150, -3.25])
DAY_VALUES = DAYS.map(date.isoformat)
INSTANT_VALUES = st.one_of(DAY_VALUES, INSTANTS.map(lambda moment: iso(moment, "UTC")))
DAY_COUNTS = st.sampled_from([0, 1, 3, 7, 30, 400])
PERIODS = st.one_of(
    st.none(),
    DAY_COUNTS.map(lambda n: {"last_days": n}),
    pair(DAYS).map(lambda days: {"between": [day.isoformat() for day in days]}),
)


def text_field(field: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        leaf(field, ["equals", "not_equals", "contains", "starts_with"], TEXT_VALUES),
        leaf(field, ["in"], st.lists(TEXT_VALUES, min_size=1, max_size=3)),
        bare(field, ["empty", "not_empty"]),
    )


def number_ops(values: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[str, Any]]:
    return st.one_of(
        st.tuples(st.sampled_from(["eq", "ne", "lt", "lte", "gt", "gte"]), values),
        st.tuples(st.just("between"), pair(values)),
    )


def number_field(field: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        number_ops(NUMBERS).map(lambda op: {"field": field, "op": op[0], "value": op[1]}),
        bare(field, ["empty", "not_empty"]),
    )


def instant_ops() -> st.SearchStrategy[tuple[str, Any]]:
    same_kind_pair = st.one_of(pair(DAYS).map(lambda d: [x.isoformat() for x in d]), pair(INSTANTS).map(
        lambda moments: [iso(moment, "UTC") for moment in moments]))  # fmt: skip
    return st.one_of(
        st.tuples(st.sampled_from(["before", "after"]), INSTANT_VALUES),
        st.tuples(st.just("between"), same_kind_pair),
        st.tuples(st.sampled_from(["in_last_days", "days_ago"]), DAY_COUNTS),
        st.tuples(st.sampled_from(["empty", "not_empty"]), st.none()),
    )


def date_field(field: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        leaf(field, ["before", "after", "on"], DAY_VALUES),
        leaf(field, ["between"], pair(DAYS).map(lambda d: [x.isoformat() for x in d])),
        leaf(field, ["in_last_days", "days_ago"], DAY_COUNTS),
        bare(field, ["day_and_month_today", "empty", "not_empty"]),
    )


def datetime_field(field: str) -> st.SearchStrategy[dict[str, Any]]:
    return instant_ops().map(lambda op: {"field": field, "op": op[0], "value": op[1]})


def orders() -> st.SearchStrategy[dict[str, Any]]:
    spec = st.fixed_dictionaries(
        {"kind": st.sampled_from(["order", "receipt", "any"]), "period": PERIODS},
        optional={
            "product": st.sampled_from(["shoe", "bag"]),
            "category": st.sampled_from(["footwear", "bags"]),
            "store": st.sampled_from(["riga", "tallinn"]),
            "status": st.sampled_from(["paid", "cancelled"]),
        },
    )
    counts = st.sampled_from([0, 1, 1.5, 2, 3])
    money = st.sampled_from([0, 20, 30.5, 50, 100, 150.5, 170.5, 300])
    metric_and_op = st.one_of(
        number_ops(counts).map(lambda op: ("count", *op)),
        number_ops(money).map(lambda op: ("sum", *op)),
        st.one_of(number_ops(money), st.tuples(st.sampled_from(["empty", "not_empty"]), st.none())).map(
            lambda op: ("average", *op)
        ),
        st.tuples(st.sampled_from(["first_date", "last_date"]), instant_ops()).map(lambda t: (t[0], *t[1])),
    )
    return st.builds(
        lambda body, mop: {"orders": {**body, "metric": mop[0]}, "op": mop[1], "value": mop[2]}, spec, metric_and_op
    )


PROPERTIES = st.sampled_from(
    [
        {"property": "product", "op": "equals", "value": "bag"},
        {"property": "product", "op": "not_equals", "value": "bag"},
        {"property": "product", "op": "contains", "value": "ag"},
        {"property": "product", "op": "in", "value": ["bag", "shoe"]},
        {"property": "product", "op": "exists"},
        {"property": "price", "op": "not_exists"},
        {"property": "price", "op": "gt", "value": 20},
        {"property": "price", "op": "lte", "value": 45},
        {"property": "price", "op": "in", "value": [10, 45.5]},
        {"property": "price", "op": "equals", "value": "cheap"},
    ]
)


def events() -> st.SearchStrategy[dict[str, Any]]:
    spec = st.fixed_dictionaries(
        {
            "name": st.sampled_from(["viewed", "bought"]),
            "properties": st.lists(PROPERTIES, max_size=2),
            "period": PERIODS,
        }
    )
    op = st.one_of(
        st.tuples(st.sampled_from(["at_least", "at_most"]), st.sampled_from([0, 1, 2, 3])),
        st.tuples(st.sampled_from(["days_since_last_gte", "days_since_last_lte"]), st.sampled_from([0, 1, 3, 30])),
    )
    return st.builds(lambda body, o: {"event": body, "op": o[0], "value": o[1]}, spec, op)


def messages() -> st.SearchStrategy[dict[str, Any]]:
    spec = st.fixed_dictionaries(
        {"status": st.sampled_from(["received", "opened", "clicked"]), "period": PERIODS},
        optional={"channel": st.sampled_from(["email", "sms"])},
    )
    target = st.sampled_from([{}, {"campaign": 1}, {"campaign": 2, "node": "e1"}, {"campaign": 1, "node": "e2"}])
    return st.builds(
        lambda body, where, op: {"message": {**body, **where}, "op": op}, spec, target, st.sampled_from(["yes", "no"])
    )


LEAVES = st.one_of(
    text_field("city"),
    text_field("first_name"),
    text_field("attributes.tier"),
    number_field("points_balance"),
    number_field("attributes.size"),
    date_field("birthday"),
    date_field("attributes.joined"),
    datetime_field("registered_at"),
    datetime_field("attributes.seen"),
    bare("attributes.vip", ["is_true", "is_false"]),
    st.builds(
        lambda channel, category, op: {"subscription": {"channel": channel, "category": category}, "op": op},
        st.sampled_from(["email", "sms"]),
        st.sampled_from([None, "news", "missing"]),
        st.sampled_from(["subscribed", "unsubscribed"]),
    ),
    st.builds(
        lambda key, ident, op: {key: ident, "op": op},
        st.sampled_from(["audience", "segment"]),
        st.sampled_from([1, 2]),
        st.sampled_from(["member", "not_member"]),
    ),
    orders(),
    events(),
    messages(),
    st.builds(
        lambda ident, period, op: {"campaign": {"id": ident, "period": period}, "op": op},
        st.sampled_from([1, 2, 3]),
        PERIODS,
        st.sampled_from(["participated", "not_participated"]),
    ),
)

TREES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3).map(lambda items: {"all": items}),
        st.lists(children, min_size=1, max_size=3).map(lambda items: {"any": items}),
        children.map(lambda child: {"not": child}),
    ),
    max_leaves=6,
)


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    people=st.lists(CUSTOMERS, min_size=3, max_size=7),
    zone=st.sampled_from(ZONES),
    trees=st.lists(TREES, min_size=1, max_size=6),
)
def test_compiled_sql_selects_what_the_reference_selects(
    world: World, people: list[dict[str, Any]], zone: str, trees: list[dict[str, Any]]
) -> None:
    world.timezone = zone
    build(world, people)
    for raw in trees:
        condition = world.parse(raw)
        assert world.select(condition) == world.expected(condition), raw


def test_the_generated_data_reaches_every_kind(world: World) -> None:
    """Guard against a vacuous property: one fixed example has matches for each leaf kind."""
    assert NOW.tzinfo is UTC
    build(
        world,
        [
            {
                "city": "Riga",
                "first_name": "Ann",
                "birthday": TODAY,
                "registered_at": NOW,
                "points_balance": 10,
                "attributes": {"tier": "gold", "size": 42, "vip": True, "joined": "2026-01-05",
                               "seen": "2026-01-05T09:00:00Z"},
                "email": None,
                "news": "Y",
                "audiences": {1},
                "segments": {2},
                "orders": [{"kind": "order", "status": "paid", "store": "riga", "total": 50, "placed_at": NOW,
                            "lines": [("shoe", "footwear", 10)]}],
                "events": [("viewed", {"product": "bag", "price": 45}, NOW)],
                "messages": [{"campaign": 1, "node": "e1", "channel": "email", "sent_at": NOW, "delivered_at": None,
                              "opened_at": NOW, "clicked_at": None}],
                "entries": [(1, NOW)],
            }
        ],
    )  # fmt: skip
    for raw in (
        {"field": "attributes.seen", "op": "days_ago", "value": 0},
        {"orders": {"metric": "sum", "product": "shoe"}, "op": "eq", "value": 10},
        {"event": {"name": "viewed", "properties": [{"property": "price", "op": "gt", "value": 20}]}, "op": "at_least",
         "value": 1},
        {"message": {"campaign": 1, "status": "opened"}},
        {"campaign": {"id": 1}},
        {"subscription": {"channel": "email", "category": "news"}},
        {"segment": 2},
    ):  # fmt: skip
        assert world.select(world.parse(raw)) == {"c0"} == world.expected(world.parse(raw)), raw
