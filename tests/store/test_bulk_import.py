from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.api.test_customers import REPEATED_CONSENTS
from tidings.core.errors import ImportInvalid
from tidings.model.custom_fields import CustomFieldIn
from tidings.store.bulk_import import RowError, count_customers, import_customers
from tidings.store.custom_fields import insert_field
from tidings.store.database import Database
from tidings.store.tables import channel_subscriptions, customers, loyalty_requests

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    opened = Database.open(database_url)
    declared = {"level": "text", "pet": "text", "n": "number", "visits": "number", "vip": "boolean"}
    with opened.engine.begin() as conn:
        for code, kind in declared.items():
            conn.execute(insert_field(opened.dialect, CustomFieldIn(code=code, name=code, type=kind), NOW))
    yield opened
    opened.dispose()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def customer(db: Database, external_id: str) -> dict[str, Any]:
    with db.engine.connect() as conn:
        row = conn.execute(select(customers).where(customers.c.external_id == external_id)).mappings().one()
    return dict(row)


def consents(db: Database, external_id: str) -> dict[str, str]:
    query = (
        select(channel_subscriptions.c.channel, channel_subscriptions.c.status)
        .join(customers, customers.c.id == channel_subscriptions.c.customer_id)
        .where(customers.c.external_id == external_id)
    )
    with db.engine.connect() as conn:
        return {channel: status for channel, status in conn.execute(query)}


def subscription_rows(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(channel_subscriptions)).scalar_one())


def test_csv_rows_are_stored_with_their_types_and_consents(db: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "customers.csv",
        (
            "external_id,email,phone,first_name,birthday,gender,city,timezone,registered_at,subscribed_email,"
            "subscribed_sms,attr.level,attr.pet\n"
            "c1,ann@example.com,+371 2000 0000,Ann,1990-05-01,female,Riga,Europe/Riga,2025-03-01T09:30:00+02:00,"
            "yes,N,gold,cat\n"
            "c2,bob@example.com,,Bob,,,,,,,,,\n"
            "c3, cat@example.com ,,Līga,,other,Tallinn,,,0,Y,,dog\n"
        ),
    )
    report = import_customers(db, path, now=NOW)

    assert (report.imported, report.total_rows, report.failed, report.errors) == (3, 3, 0, [])
    ann = customer(db, "c1")
    assert ann["email"] == "ann@example.com"
    assert ann["phone"] == "+37120000000"
    assert ann["birthday"] == date(1990, 5, 1)
    assert ann["gender"] == "female"
    assert ann["timezone"] == "Europe/Riga"
    assert ann["registered_at"] == datetime(2025, 3, 1, 7, 30, tzinfo=UTC)
    assert ann["attributes"] == {"level": "gold", "pet": "cat"}
    assert ann["created_at"] == ann["updated_at"] == NOW
    assert consents(db, "c1") == {"email": "Y", "sms": "N"}

    bob = customer(db, "c2")  # empty cells: not given
    assert (bob["first_name"], bob["phone"], bob["birthday"], bob["city"]) == ("Bob", None, None, None)
    assert bob["attributes"] == {}
    assert consents(db, "c2") == {}

    liga = customer(db, "c3")
    assert (liga["email"], liga["first_name"], liga["gender"]) == ("cat@example.com", "Līga", "other")
    assert liga["attributes"] == {"pet": "dog"}
    assert consents(db, "c3") == {"email": "N", "sms": "Y"}
    assert count_customers(db) == 3


def test_jsonl_rows_are_customer_objects(db: Database, tmp_path: Path) -> None:
    lines = [
        {
            "external_id": "j1",
            "email": "ann@example.com",
            "birthday": "1985-12-31",
            "gender": "female",
            "registered_at": "2025-01-02T03:04:05Z",
            "attributes": {"visits": 3, "vip": True},
            "subscriptions": {"email": True, "push": False},
        },
        {"external_id": "j2", "first_name": "Bob", "city": None},
    ]
    text = json.dumps(lines[0]) + "\n\n" + json.dumps(lines[1]) + "\n"
    report = import_customers(db, write(tmp_path, "customers.jsonl", text), now=NOW)

    assert (report.imported, report.total_rows, report.errors) == (2, 2, [])
    ann = customer(db, "j1")
    assert ann["birthday"] == date(1985, 12, 31)
    assert ann["registered_at"] == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert ann["attributes"] == {"visits": 3, "vip": True}
    assert consents(db, "j1") == {"email": "Y", "push": "N"}
    assert customer(db, "j2")["first_name"] == "Bob"


def test_bad_csv_rows_are_reported_with_line_and_field_and_good_rows_kept(db: Database, tmp_path: Path) -> None:
    long_email = "a" * 320 + "@example.com"
    path = write(
        tmp_path,
        "customers.csv",
        (
            "external_id,email,birthday,gender,timezone,city,subscribed_email\n"  # line 1
            "ok1,ok1@example.com,1990-01-01,male,Europe/Oslo,Oslo,yes\n"  # 2
            f"long,{long_email},,,,,\n"  # 3
            "date,date@example.com,1990-02-30,,,,\n"  # 4
            'ok2,ok2@example.com,,,,"Riga\nOld Town",\n'  # 5-6: a quoted line break
            "zone,zone@example.com,,,Mars/Olympus,,\n"  # 7
            "\n"  # 8: blank, not a row
            "gender,gender@example.com,,robot,,,\n"  # 9
            "consent,consent@example.com,,,,,maybe\n"  # 10
            "short,short@example.com\n"  # 11
            ",nobody@example.com,,,,,\n"  # 12
            "ok3,ok3@example.com,,,,,\n"  # 13
        ),
    )
    report = import_customers(db, path, now=NOW)

    assert (report.imported, report.failed, report.total_rows) == (3, 7, 10)
    found = {(error.line, error.external_id, error.field) for error in report.errors}
    assert found == {
        (3, "long", "email"),
        (4, "date", "birthday"),
        (7, "zone", "timezone"),
        (9, "gender", "gender"),
        (10, "consent", "subscribed_email"),
        (11, "short", None),
        (12, None, "external_id"),
    }
    by_field = {error.field: error for error in report.errors}
    assert "320" in by_field["email"].message
    assert "Mars/Olympus" in by_field["timezone"].message
    assert "'robot'" in by_field["gender"].message and "'female'" in by_field["gender"].message
    assert "2 cells" in by_field[None].message
    assert count_customers(db) == 3
    assert customer(db, "ok2")["city"] == "Riga\nOld Town"
    assert consents(db, "ok1") == {"email": "Y"}


def test_bad_jsonl_lines_are_reported_and_good_ones_kept(db: Database, tmp_path: Path) -> None:
    text = (
        "\n".join(
            [
                json.dumps({"external_id": "good", "email": "good@example.com"}),  # 1
                "{not json",  # 2
                json.dumps({"external_id": "extra", "colour": "blue"}),  # 3
                "",  # 4: blank
                json.dumps(["external_id", "list"]),  # 5
                json.dumps({"external_id": "when", "registered_at": "2025-01-01T10:00:00"}),  # 6: no offset
                json.dumps({"external_id": "nul", "first_name": "a\u0000b"}),  # 7
                json.dumps({"external_id": "good2", "attributes": {"level": "gold"}}),  # 8
            ]
        )
        + "\n"
    )
    report = import_customers(db, write(tmp_path, "customers.jsonl", text), now=NOW)

    assert (report.imported, report.failed, report.total_rows) == (2, 5, 7)
    assert [(e.line, e.external_id, e.field) for e in report.errors] == [
        (2, None, None),
        (3, "extra", "colour"),
        (5, None, None),
        (6, "when", "registered_at"),
        (7, "nul", "first_name"),
    ]
    assert report.errors[0].message.startswith("not valid JSON")
    assert report.errors[1].message == "unknown field"
    assert "UTC offset" in report.errors[3].message
    assert count_customers(db) == 2


def test_unknown_column_is_refused_before_anything_is_imported(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "customers.csv", "external_id,email,favourite_colour\nc1,ann@example.com,blue\n")
    with pytest.raises(ImportInvalid) as refused:
        import_customers(db, path, now=NOW)
    message = refused.value.message
    assert "'favourite_colour'" in message
    assert "external_id" in message and "subscribed_email" in message and "attr.<code>" in message
    assert refused.value.details["column"] == "favourite_colour"
    assert count_customers(db) == 0


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("customers.xlsx", "external_id\nc1\n", "unknown file type '.xlsx'"),
        ("customers.csv", "", "no header row"),
        ("customers.csv", "email,first_name\nann@example.com,Ann\n", "no external_id column"),
        ("customers.csv", "external_id,email,EMAIL\nc1,a@example.com,b@example.com\n", "appears twice"),
        ("customers.csv", "external_id,subscribed_fax\nc1,yes\n", "'subscribed_fax'"),
    ],
)
def test_files_that_cannot_be_imported_are_refused(
    db: Database, tmp_path: Path, name: str, text: str, expected: str
) -> None:
    with pytest.raises(ImportInvalid, match=expected):
        import_customers(db, write(tmp_path, name, text), now=NOW)
    assert count_customers(db) == 0


def test_missing_file_is_refused(db: Database, tmp_path: Path) -> None:
    with pytest.raises(ImportInvalid, match="no such file"):
        import_customers(db, tmp_path / "nowhere.csv", now=NOW)


def test_semicolon_separated_export_with_bom(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffexternal_id;email;city\nc1;ann@example.com;Rīga\n".encode())
    report = import_customers(db, path, now=NOW)
    assert report.imported == 1
    assert customer(db, "c1")["city"] == "Rīga"


def test_reimport_updates_customers_without_duplicates(db: Database, tmp_path: Path) -> None:
    first = write(
        tmp_path,
        "first.csv",
        (
            "external_id,email,first_name,city,subscribed_email,attr.level\n"
            "c1,ann@example.com,Ann,Riga,yes,gold\n"
            "c2,bob@example.com,Bob,Oslo,yes,silver\n"
        ),
    )
    assert import_customers(db, first, now=NOW).imported == 2
    later = NOW + timedelta(days=1)
    second = write(
        tmp_path,
        "second.csv",
        (
            "external_id,email,first_name,city,subscribed_email,attr.level\n"
            "c1,ann.new@example.com,,Tallinn,no,\n"  # an empty first_name keeps Ann
            "c3,cat@example.com,Cat,,,\n"
            "c3,,,Vilnius,yes,\n"  # a repeated id in one batch: applied in file order
        ),
    )
    report = import_customers(db, second, now=later)

    assert (report.imported, report.failed) == (3, 0)
    assert count_customers(db) == 3
    ann = customer(db, "c1")
    assert (ann["email"], ann["first_name"], ann["city"]) == ("ann.new@example.com", "Ann", "Tallinn")
    assert ann["attributes"] == {"level": "gold"}
    assert (ann["created_at"], ann["updated_at"]) == (NOW, later)
    assert consents(db, "c1") == {"email": "N"}
    assert customer(db, "c2")["updated_at"] == NOW
    cat = customer(db, "c3")
    assert (cat["email"], cat["first_name"], cat["city"]) == ("cat@example.com", "Cat", "Vilnius")
    assert consents(db, "c3") == {"email": "Y"}
    assert subscription_rows(db) == 3

    clearing = write(tmp_path, "clear.jsonl", json.dumps({"external_id": "c1", "city": None}) + "\n")
    assert import_customers(db, clearing, now=later).imported == 1
    assert customer(db, "c1")["city"] is None
    assert customer(db, "c1")["first_name"] == "Ann"
    assert count_customers(db) == 3


def loyalty_syncs(db: Database) -> set[tuple[str, str, bool]]:
    """(customer, channel, active) of every loyalty sync request recorded."""
    query = select(customers.c.external_id, loyalty_requests.c.payload).join(
        customers, customers.c.id == loyalty_requests.c.customer_id
    )
    with db.engine.connect() as conn:
        rows = conn.execute(query.where(loyalty_requests.c.kind == "subscription")).all()
    assert all(payload["type"] == "Mailings" for _, payload in rows)
    return {(external_id, payload["channel"], payload["active"]) for external_id, payload in rows}


def test_an_import_that_turns_a_channel_off_or_on_again_tells_the_loyalty_program(db: Database, tmp_path: Path) -> None:
    """E22, the same on both databases (PostgreSQL merges a staged batch, SQLite goes through the upsert)."""
    first = "external_id,subscribed_email,subscribed_sms\nann,yes,\nbob,no,\ncid,yes,yes\n"
    import_customers(db, write(tmp_path, "first.csv", first), now=NOW)
    assert loyalty_syncs(db) == {("bob", "email", False)}  # a new customer's channels start as subscribed

    second = "external_id,subscribed_email,subscribed_sms\nann,no,\nbob,no,\ncid,,no\ndan,,no\neve,yes,yes\n"
    import_customers(db, write(tmp_path, "second.csv", second), now=NOW + timedelta(days=1))
    assert loyalty_syncs(db) == {
        ("bob", "email", False),
        ("ann", "email", False),  # turned off
        ("cid", "sms", False),
        ("dan", "sms", False),  # new, off from the start
    }  # bob's N again, eve's Y on a new customer: no change, nothing recorded

    third = "external_id,subscribed_email\nann,yes\n"
    import_customers(db, write(tmp_path, "third.csv", third), now=NOW + timedelta(days=2))
    assert ("ann", "email", True) in loyalty_syncs(db)  # on again


def test_an_empty_or_null_consent_map_in_a_repeated_row_changes_no_consent(db: Database, tmp_path: Path) -> None:
    """The rows of the API's test of the same name, in one batch: the import merges a customer's rows by the same
    rule (``model.customers.merge_duplicates``), on both databases (a staged merge on PostgreSQL)."""
    text = "".join(json.dumps(row) + "\n" for row in REPEATED_CONSENTS)
    report = import_customers(db, write(tmp_path, "customers.jsonl", text), now=NOW)

    assert (report.imported, report.errors) == (4, [])
    assert consents(db, "c1") == {"email": "N", "sms": "N"}
    ann = customer(db, "c1")
    assert (ann["first_name"], ann["city"]) == ("Ann", "Riga")


def test_a_large_file_imports_in_batches_and_reports_progress(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("external_id,email,first_name,birthday,city,subscribed_email,attr.n\n")
        for index in range(25_000):
            email = "broken" if index == 12_345 else f"c{index}@example.com"
            birthday = "1990-02-31" if index == 20_001 else f"19{50 + index % 50}-0{1 + index % 9}-1{index % 10}"
            handle.write(f"c{index},{email},Name{index},{birthday},Riga,{'yes' if index % 3 else 'no'},{index}\n")
    calls: list[tuple[int, int]] = []
    report = import_customers(db, path, now=NOW, progress=lambda rows, done: calls.append((rows, done)))

    assert (report.total_rows, report.imported, report.failed) == (25_000, 24_999, 1)
    assert report.errors == [RowError(20_003, "c20001", "birthday", report.errors[0].message)]
    assert calls == sorted(calls) and len(calls) == 3
    assert [rows for rows, _ in calls] == [10_000, 20_000, 25_000]
    assert calls[-1][1] == path.stat().st_size
    assert count_customers(db) == 24_999
    assert subscription_rows(db) == 24_999
    assert customer(db, "c24999")["attributes"] == {"n": 24999}
    assert customer(db, "c12345")["email"] == "broken"  # stored; sends drop it as an invalid address


def test_error_list_is_capped_but_every_failure_is_counted(db: Database, tmp_path: Path) -> None:
    rows = "".join(f"c{index},not-a-gender\n" for index in range(30))
    report = import_customers(db, write(tmp_path, "bad.csv", "external_id,gender\n" + rows), now=NOW, max_errors=10)
    assert (report.failed, len(report.errors), report.errors_omitted) == (30, 10, 20)
    assert report.errors[0].line == 2


def test_a_stray_quote_costs_its_row_alone(db: Database, tmp_path: Path) -> None:
    """An opening quote never closed swallowed every line after it, up to the csv module's field limit: 1,671 good
    rows were lost and one error reported. Now the row with the quote is refused and the rest are read."""
    rows = "".join(f"c{n},c{n}@example.com,City {n}\n" for n in range(3_000))
    path = write(
        tmp_path,
        "customers.csv",
        "external_id,email,city\n"  # line 1
        "ann,ann@example.com,Riga\n"  # 2
        'bob,bob@example.com,"Oslo\n'  # 3: a stray quote
        + rows  # 4 …
        + 'eve,eve@example.com,"Old\nTown"\n'  # a quoted line break, still fine
        'zed,zed@example.com,"Tartu\n',  # a quote left open at the end of the file
    )
    report = import_customers(db, path, now=NOW, batch_size=500)

    assert (report.imported, report.failed, report.total_rows) == (3_002, 2, 3_004)
    assert [(error.line, error.field) for error in report.errors] == [(3, None), (3_006, None)]
    assert "a quoted cell opened on this line runs on" in report.errors[0].message
    assert count_customers(db) == 3_002
    assert customer(db, "c0")["city"] == "City 0"
    assert customer(db, "eve")["city"] == "Old\nTown"
