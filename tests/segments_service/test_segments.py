"""Segments: saving with a checked condition, the live preview, and the stored membership's recompute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, update

from tests.engine.helpers import add_customers, advance, advance_to, set_points
from tests.segments_service.helpers import city_is, members, segment_service
from tidings.core.errors import ConditionInvalid, NotFound
from tidings.segments.compiler import ConditionCompiler
from tidings.segments.segments import CONDITION
from tidings.services import Services
from tidings.store.tables import customers, segments

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def test_create_stores_the_condition_and_computes_the_membership_at_once(services: Services) -> None:
    add_customers(
        services,
        {"external_id": "ann", "city": "Riga"},
        {"external_id": "bob", "city": "Riga"},
        {"external_id": "cid", "city": "Tallinn"},
    )
    created = segment_service(services).create("Riga", city_is("Riga"), 60)

    assert created["size"] == 2
    assert created["name"] == "Riga"
    assert created["condition"]["field"] == "city"
    assert created["last_computed_at"] == START
    assert created["next_recompute_at"] == START + timedelta(minutes=60)
    assert members(services, created["id"]) == {"ann": START, "bob": START}
    assert segment_service(services).get(created["id"]) == created


def test_a_bad_condition_is_refused_naming_its_path_and_nothing_is_stored(services: Services) -> None:
    bad = {"all": [city_is("Riga"), {"any": [{"field": "cty", "op": "equals", "value": "x"}]}]}
    with pytest.raises(ConditionInvalid) as refused:
        segment_service(services).create("Broken", bad, 60)
    assert refused.value.message.startswith("invalid condition: condition.all[1].any[0]: unknown customer field 'cty'")
    assert refused.value.details == [
        {"field": "condition.all[1].any[0]", "message": refused.value.details[0]["message"]}
    ]

    with pytest.raises(ConditionInvalid) as wrong_op:
        segment_service(services).create("Broken", {"not": {"field": "city", "op": "gt", "value": 3}}, 60)
    assert "condition.not:" in wrong_op.value.message
    assert "does not apply to text field 'city'" in wrong_op.value.message

    with pytest.raises(ConditionInvalid):  # references are checked against the catalog
        segment_service(services).create("Broken", {"segment": 99, "op": "member"}, 60)

    with services.db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(segments)).scalar_one() == 0


def test_preview_counts_exactly_the_customers_the_condition_selects_and_stores_nothing(services: Services) -> None:
    ids = add_customers(
        services,
        *({"external_id": f"c{n:02}", "city": ["Riga", "Tallinn", "Vilnius"][n % 3]} for n in range(30)),
    )
    for n, customer_id in enumerate(sorted(ids.values())):
        set_points(services, customer_id, n * 10)
    condition = {"any": [{"field": "points_balance", "op": "gte", "value": 200}, city_is("Vilnius")]}

    preview = segment_service(services).preview(condition, sample=5)

    expected = sorted(f"c{n:02}" for n in range(30) if n * 10 >= 200 or n % 3 == 2)
    matches = ConditionCompiler(START, "UTC").compile(CONDITION.validate_python(condition))
    with services.db.engine.connect() as conn:
        by_sql = conn.execute(select(func.count()).select_from(customers).where(matches)).scalar_one()
        assert conn.execute(select(func.count()).select_from(segments)).scalar_one() == 0
    assert preview["count"] == len(expected) == by_sql
    assert [row["external_id"] for row in preview["sample"]] == expected[:5]
    assert preview["computed_at"] == START
    assert segment_service(services).preview(condition, sample=0)["sample"] == []


def test_the_preview_of_a_saved_segment_is_live_not_its_stored_membership(services: Services) -> None:
    add_customers(services, {"external_id": "ann", "city": "Riga"})
    segment_id = segment_service(services).create("Riga", city_is("Riga"), 60)["id"]
    add_customers(services, {"external_id": "bob", "city": "Riga"})

    assert segment_service(services).preview_saved(segment_id, sample=10)["count"] == 2
    assert segment_service(services).get(segment_id)["size"] == 1  # stored until the next recompute
    with pytest.raises(NotFound):
        segment_service(services).preview_saved(segment_id + 1, sample=10)


def test_recompute_adds_newcomers_with_since_and_removes_leavers(services: Services) -> None:
    add_customers(services, {"external_id": "ann", "city": "Riga"}, {"external_id": "bob", "city": "Riga"})
    segment_id = segment_service(services).create("Riga", city_is("Riga"), 60)["id"]

    advance(services, minutes=30)
    add_customers(services, {"external_id": "bob", "city": "Tallinn"}, {"external_id": "cid", "city": "Riga"})
    done = segment_service(services).recompute_now(segment_id)

    now = START + timedelta(minutes=30)
    assert (done.entered, done.left, done.size, done.baseline) == (1, 1, 2, False)
    assert members(services, segment_id) == {"ann": START, "cid": now}
    segment = segment_service(services).get(segment_id)
    assert (segment["size"], segment["last_computed_at"]) == (2, now)
    assert segment["next_recompute_at"] == now + timedelta(minutes=60)


def test_a_customer_who_leaves_and_comes_back_is_a_member_since_coming_back(services: Services) -> None:
    add_customers(services, {"external_id": "ann", "city": "Riga"})
    segment_id = segment_service(services).create("Riga", city_is("Riga"), 60)["id"]
    add_customers(services, {"external_id": "ann", "city": "Tallinn"})
    advance(services, minutes=60)
    assert members(services, segment_id) == {}
    add_customers(services, {"external_id": "ann", "city": "Riga"})
    advance(services, minutes=60)
    assert members(services, segment_id) == {"ann": START + timedelta(minutes=120)}


def test_scheduled_recompute_runs_every_interval_at_the_right_moment(services: Services) -> None:
    add_customers(services, {"external_id": "ann", "city": "Riga"})
    segment_id = segment_service(services).create("Riga", city_is("Riga"), 90)["id"]
    add_customers(services, {"external_id": "bob", "city": "Riga"})

    advance_to(services, START + timedelta(minutes=89))
    assert set(members(services, segment_id)) == {"ann"}

    advance_to(services, START + timedelta(minutes=91))
    assert members(services, segment_id) == {"ann": START, "bob": START + timedelta(minutes=90)}
    segment = segment_service(services).get(segment_id)
    assert segment["last_computed_at"] == START + timedelta(minutes=90)
    assert segment["next_recompute_at"] == START + timedelta(minutes=180)

    add_customers(services, {"external_id": "cid", "city": "Riga"})
    advance(services, days=1)  # 16 recomputes later: cid joined at the first one after it matched
    assert members(services, segment_id)["cid"] == START + timedelta(minutes=180)
    assert segment_service(services).get(segment_id)["last_computed_at"] == START + timedelta(minutes=90 * 17)


def test_the_scheduler_reports_the_segments_it_recomputed(services: Services) -> None:
    segment_service(services).create("Riga", city_is("Riga"), 60)
    segment_service(services).create("Tallinn", city_is("Tallinn"), 60)
    assert services.scheduler.tick()["segments"] == 0
    services.clock.set(START + timedelta(minutes=60))
    report = services.scheduler.tick()
    assert report["segments"] == 2
    assert report.busy


def test_a_segment_never_computed_is_due_at_once(services: Services) -> None:
    add_customers(services, {"external_id": "ann", "city": "Riga"})
    with services.db.engine.begin() as conn:  # e.g. loaded by a migration or another tool
        conn.execute(
            insert(segments).values(
                id=7, name="Raw", condition=city_is("Riga"), recompute_minutes=60, created_at=START, updated_at=START
            )
        )
    advance(services, minutes=0)
    assert members(services, 7) == {"ann": START}
    assert segment_service(services).get(7)["next_recompute_at"] == START + timedelta(minutes=60)


def test_update_recomputes_a_new_condition_at_once_and_reschedules_a_new_interval(services: Services) -> None:
    add_customers(services, {"external_id": "ann", "city": "Riga"}, {"external_id": "bob", "city": "Tallinn"})
    segment_id = segment_service(services).create("Riga", city_is("Riga"), 60)["id"]
    advance(services, minutes=10)

    renamed = segment_service(services).update(segment_id, "Riga only", city_is("Riga"), 60)
    assert (renamed["name"], renamed["last_computed_at"]) == ("Riga only", START)  # same condition: no recompute

    longer = segment_service(services).update(segment_id, "Riga only", city_is("Riga"), 240)
    assert longer["next_recompute_at"] == START + timedelta(minutes=240)

    changed = segment_service(services).update(segment_id, "Baltics", city_is("Riga", "Tallinn"), 240)
    now = START + timedelta(minutes=10)
    assert (changed["size"], changed["last_computed_at"], changed["next_recompute_at"]) == (
        2,
        now,
        now + timedelta(minutes=240),
    )
    assert members(services, segment_id) == {"ann": START, "bob": now}
    assert changed["updated_at"] == now

    with pytest.raises(ConditionInvalid):
        segment_service(services).update(segment_id, "Broken", {"field": "nope", "op": "empty"}, 60)
    assert segment_service(services).get(segment_id)["name"] == "Baltics"


def test_list_and_delete(services: Services) -> None:
    add_customers(services, {"external_id": "ann", "city": "Riga"})
    first = segment_service(services).create("Riga", city_is("Riga"), 60)["id"]
    second = segment_service(services).create("Tallinn", city_is("Tallinn"), 60)["id"]

    items, total = segment_service(services).list_all(limit=1, offset=1)
    assert (total, [item["id"] for item in items]) == (2, [second])

    segment_service(services).delete(first)
    with pytest.raises(NotFound):
        segment_service(services).get(first)
    assert members(services, first) == {}
    with pytest.raises(NotFound):
        segment_service(services).delete(first)
    assert [item["id"] for item in segment_service(services).list_all(limit=10, offset=0)[0]] == [second]


def test_two_computations_at_the_same_instant_stay_apart(services: Services) -> None:
    add_customers(services, {"external_id": "ann", "city": "Riga"})
    segment_id = segment_service(services).create("Riga", city_is("Riga"), 60)["id"]
    add_customers(services, {"external_id": "bob", "city": "Riga"})

    done = segment_service(services).recompute_now(segment_id)  # the clock has not moved

    assert done.computed_at == START + timedelta(microseconds=1)
    assert members(services, segment_id) == {"ann": START, "bob": START + timedelta(microseconds=1)}


def test_a_segment_whose_stored_condition_broke_is_postponed_and_the_others_go_on(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    add_customers(services, {"external_id": "ann", "city": "Riga"})
    broken = segment_service(services).create("Broken later", city_is("Riga"), 60)["id"]
    fine = segment_service(services).create("Fine", city_is("Riga"), 60)["id"]
    with services.db.engine.begin() as conn:
        conn.execute(update(segments).where(segments.c.id == broken).values(condition={"field": "gone", "op": "empty"}))
    add_customers(services, {"external_id": "bob", "city": "Riga"})

    advance(services, minutes=60)

    assert set(members(services, fine)) == {"ann", "bob"}
    assert set(members(services, broken)) == {"ann"}  # kept as it was
    assert segment_service(services).get(broken)["next_recompute_at"] == START + timedelta(minutes=120)
    assert f"segment {broken} could not be recomputed" in caplog.text
    with pytest.raises(ConditionInvalid):
        segment_service(services).recompute_now(broken)
