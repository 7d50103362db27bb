"""Audiences: unique names, members by external id (unknown ids reported), CSV import, and the CLI."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.engine.helpers import add_customers, advance
from tests.segments_service.helpers import audience_of, audience_service
from tidings.cli import app
from tidings.core.errors import Conflict, InvalidInput, NotFound
from tidings.segments.audiences import LineError
from tidings.services import Services

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def csv(text: str | bytes) -> io.BytesIO:
    return io.BytesIO(text.encode() if isinstance(text, str) else text)


@pytest.fixture
def customers(services: Services) -> dict[str, int]:
    return add_customers(services, *({"external_id": name} for name in ("ann", "bob", "cid", "dan")))


def test_names_are_unique_on_create_and_rename(services: Services) -> None:
    vip = audience_service(services).create("  VIP  ")
    assert (vip["name"], vip["size"], vip["created_at"], vip["updated_at"]) == ("VIP", 0, START, START)
    with pytest.raises(Conflict) as taken:
        audience_service(services).create("VIP")
    assert taken.value.details == {"name": "VIP", "audience_id": vip["id"]}

    other = audience_service(services).create("Laptop 2019")
    with pytest.raises(Conflict):
        audience_service(services).rename(other["id"], "VIP")
    advance(services, minutes=5)
    renamed = audience_service(services).rename(other["id"], "Laptop 2020")
    assert (renamed["name"], renamed["updated_at"]) == ("Laptop 2020", START + timedelta(minutes=5))
    assert audience_service(services).rename(vip["id"], "VIP")["name"] == "VIP"  # its own name is not a clash

    with pytest.raises(InvalidInput):
        audience_service(services).create("   ")
    with pytest.raises(NotFound):
        audience_service(services).rename(999, "X")


def test_add_and_remove_by_external_id_reporting_unknown_ones(services: Services, customers: dict[str, int]) -> None:
    audience_id = audience_service(services).create("VIP")["id"]
    advance(services, minutes=1)

    changed = audience_service(services).change_members(audience_id, ["ann", "bob", "zed"], [])
    assert changed == {
        "audience_id": audience_id,
        "added": 2,
        "already_members": 0,
        "removed": 0,
        "not_members": 0,
        "unknown_customers": ["zed"],
        "size": 2,
    }
    assert audience_service(services).get(audience_id)["updated_at"] == START + timedelta(minutes=1)

    changed = audience_service(services).change_members(audience_id, ["bob", "cid"], ["ann", "dan", "yan"])
    assert (changed["added"], changed["already_members"], changed["removed"], changed["not_members"]) == (1, 1, 1, 1)
    assert changed["unknown_customers"] == ["yan"]
    assert audience_of(services, audience_id) == {"bob", "cid"}

    with pytest.raises(InvalidInput) as all_unknown:
        audience_service(services).change_members(audience_id, ["x1", "x2"], [])
    assert all_unknown.value.details == {"unknown_customers": ["x1", "x2"]}
    with pytest.raises(InvalidInput):
        audience_service(services).change_members(audience_id, ["ann"], ["ann"])
    with pytest.raises(InvalidInput):
        audience_service(services).change_members(audience_id, [], [])
    with pytest.raises(NotFound):
        audience_service(services).change_members(audience_id + 100, ["ann"], [])


def test_list_members_and_delete(services: Services, customers: dict[str, int]) -> None:
    vip = audience_service(services).create("VIP")["id"]
    empty = audience_service(services).create("Empty")["id"]
    audience_service(services).change_members(vip, ["cid", "ann"], [])

    items, total = audience_service(services).list_all(limit=10, offset=0)
    assert total == 2
    assert [(item["name"], item["size"]) for item in items] == [("VIP", 2), ("Empty", 0)]
    page = audience_service(services).members(vip, limit=1, offset=1)
    assert page["size"] == 2
    assert [item["external_id"] for item in page["items"]] == ["cid"]
    assert page["items"][0]["added_at"] == START

    audience_service(services).delete(vip)
    with pytest.raises(NotFound):
        audience_service(services).get(vip)
    assert audience_of(services, vip) == set()
    assert [item["id"] for item in audience_service(services).list_all(limit=10, offset=0)[0]] == [empty]


def test_one_column_csv_into_a_chosen_audience(services: Services, customers: dict[str, int]) -> None:
    audience_id = audience_service(services).create("VIP")["id"]
    audience_service(services).change_members(audience_id, ["dan"], [])
    data = "\ufeffexternal_id\r\nann\r\n\r\nbob\r\nzed\r\nann\r\ndan\r\ncid;Extra\r\n"

    report = audience_service(services).import_csv(csv(data), audience_id=audience_id, batch_size=2)

    assert (report.rows, report.added, report.already_members, report.failed) == (6, 2, 2, 2)
    assert report.errors == [
        LineError(5, "zed", None, "unknown customer 'zed'"),
        LineError(8, "cid", None, "one column expected (the audience is chosen for the whole file)"),
    ]
    assert audience_of(services, audience_id) == {"ann", "bob", "dan"}
    assert report.audiences_created == []


def test_one_column_csv_into_an_audience_named_and_created_as_needed(
    services: Services, customers: dict[str, int]
) -> None:
    report = audience_service(services).import_csv(csv("ann\nbob\n"), audience_name="Newsletter")
    assert (report.added, report.audiences_created) == (2, ["Newsletter"])
    again = audience_service(services).import_csv(csv("ann\ncid\n"), audience_name="Newsletter")
    assert (again.added, again.already_members, again.audiences_created) == (1, 1, [])
    items, _ = audience_service(services).list_all(limit=10, offset=0)
    assert [(item["name"], item["size"]) for item in items] == [("Newsletter", 3)]


@pytest.mark.parametrize("separator", [";", ",", "\t"])
def test_pairs_create_audiences_by_name(services: Services, customers: dict[str, int], separator: str) -> None:
    audience_service(services).create("VIP")
    rows = [
        "external_id;audience",
        "ann;VIP",
        "bob;VIP",
        "bob;Laptop 2019",
        '"cid";"Laptop 2019"',
        "dan",
        "zed;VIP",
        "ann;",
        "cid;A;B",
    ]
    data = "\n".join(row.replace(";", separator) for row in rows) + "\n"

    report = audience_service(services).import_csv(csv(data), batch_size=3)

    assert (report.rows, report.added, report.failed) == (8, 4, 4)
    assert report.audiences_created == ["Laptop 2019"]
    assert [(error.line, error.external_id) for error in report.errors] == [
        (6, "dan"),
        (7, "zed"),
        (8, "ann"),
        (9, "cid"),
    ]
    assert report.errors[0].message.startswith("expected external_id;audience")
    by_name = {item["name"]: item["id"] for item in audience_service(services).list_all(limit=10, offset=0)[0]}
    assert audience_of(services, by_name["VIP"]) == {"ann", "bob"}
    assert audience_of(services, by_name["Laptop 2019"]) == {"bob", "cid"}


def test_a_line_that_is_not_utf8_is_reported_and_the_rest_imported(
    services: Services, customers: dict[str, int]
) -> None:
    report = audience_service(services).import_csv(csv(b"ann;VIP\n\xff\xfe;VIP\nbob;VIP\n"))
    assert (report.added, report.failed) == (2, 1)
    assert report.errors == [LineError(2, None, None, "the line is not UTF-8 text")]


def test_errors_beyond_the_limit_are_counted(services: Services, customers: dict[str, int]) -> None:
    data = "".join(f"nobody{n}\n" for n in range(5))
    report = audience_service(services).import_csv(csv(data), audience_name="X", max_errors=2)
    assert (report.failed, len(report.errors), report.errors_omitted) == (5, 2, 3)


def test_cli_imports_a_file(services: Services, customers: dict[str, int], database_url: str, tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("ann;VIP\nbob;VIP\nzed;VIP\n", encoding="utf-8")
    single = tmp_path / "single.csv"
    single.write_text("external_id\ncid\n", encoding="utf-8")
    runner = CliRunner()
    env = {"TIDINGS_DATABASE_URL": database_url}

    result = runner.invoke(app, ["audiences", "import", str(pairs)], env=env)
    assert result.exit_code == 0, result.output
    assert "line 3: unknown customer 'zed'" in result.output
    assert "added 2 members" in result.output
    result = runner.invoke(app, ["audiences", "import", str(single), "--audience", "Loyal"], env=env)
    assert result.exit_code == 0, result.output

    names = {item["name"]: item["id"] for item in audience_service(services).list_all(limit=10, offset=0)[0]}
    assert audience_of(services, names["VIP"]) == {"ann", "bob"}
    assert audience_of(services, names["Loyal"]) == {"cid"}

    failed = runner.invoke(app, ["audiences", "import", str(tmp_path / "missing.csv")], env=env)
    assert failed.exit_code == 2
    all_bad = tmp_path / "bad.csv"
    all_bad.write_text("nobody;VIP\n", encoding="utf-8")
    assert runner.invoke(app, ["audiences", "import", str(all_bad)], env=env).exit_code == 1


def test_quoted_cells_may_span_lines_and_a_stray_quote_costs_its_row_alone(
    services: Services, customers: dict[str, int]
) -> None:
    data = 'external_id;audience\nann;"VIP\nclub"\nbob;"VIP\ncid;VIP\ndan;VIP\n'
    report = audience_service(services).import_csv(csv(data))
    assert (report.rows, report.added, report.failed) == (4, 3, 1)
    assert [(error.line, error.external_id) for error in report.errors] == [(4, None)]
    assert "quoted cell opened on this line" in report.errors[0].message
    by_name = {item["name"]: item["id"] for item in audience_service(services).list_all(limit=10, offset=0)[0]}
    assert audience_of(services, by_name["VIP\nclub"]) == {"ann"}
    assert audience_of(services, by_name["VIP"]) == {"cid", "dan"}
