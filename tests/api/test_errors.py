"""Bad input is always a 4xx with the one error shape, never a 500."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.exc import DataError

from tests.api.conftest import serve
from tests.api.helpers import error_of, start_campaign
from tidings.api.access import PUBLIC
from tidings.api.app import create_app
from tidings.services import Services


@pytest.mark.parametrize("path", ["/customers", "/events", "/campaigns", "/clock/advance"])
def test_malformed_json_is_400(client: httpx.Client, path: str) -> None:
    response = client.post(path, content=b'{"customers": [', headers={"content-type": "application/json"})
    error = error_of(response, 400)
    assert error["code"] == "invalid_json"
    assert "not valid JSON" in error["message"]


def test_malformed_json_in_a_put_is_400(client: httpx.Client) -> None:
    response = client.put("/settings", content=b"{'timezone': 'UTC'}", headers={"content-type": "application/json"})
    assert error_of(response, 400)["code"] == "invalid_json"


def test_a_missing_or_wrongly_typed_body_is_422(client: httpx.Client) -> None:
    error = error_of(client.post("/customers"), 422)
    assert error["details"] == [{"field": None, "in": "body", "message": "Field required"}]
    assert error_of(client.post("/events", json={"events": "many"}), 422)["details"][0]["field"] == "events"
    assert (
        error_of(client.post("/customers", content=b"customers", headers={"content-type": "text/plain"}), 422)["code"]
        == "invalid_input"
    )
    assert (
        error_of(client.post("/campaigns", content=b"", headers={"content-type": "application/json"}), 422)["code"]
        == "invalid_input"
    )


def test_unknown_routes_and_methods_answer_in_the_same_shape(client: httpx.Client) -> None:
    error = error_of(client.get("/nothing-here"), 404)
    assert error["code"] == "not_found"
    assert "/api/v1/nothing-here" in error["message"]
    assert error_of(client.delete("/customers"), 405)["code"] == "method_not_allowed"


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_numbers_that_are_not_json_numbers_are_400(client: httpx.Client, number: bytes) -> None:
    body = b'{"customers": [{"external_id": "c1", "attributes": {"score": ' + number + b"}}]}"
    error = error_of(client.post("/customers", content=body, headers={"content-type": "application/json"}), 400)
    assert error["code"] == "invalid_json"
    assert number.decode().lstrip("-") in error["message"]
    assert error["details"]["position"] == body.index(number)
    document = (
        b'{"name": "N", "trigger": {"type": "api_enrollment", "config": {}}, "layout": {"trigger": '
        b'{"x": ' + number + b', "y": 0}}}'
    )
    response = client.post("/campaigns", content=document, headers={"content-type": "application/json"})
    assert error_of(response, 400)["code"] == "invalid_json"


def test_nul_characters_are_refused_alike_on_both_databases(client: httpx.Client) -> None:
    document = {"name": "Nul\u0000", "trigger": {"type": "api_enrollment", "config": {}}}
    error = error_of(client.post("/campaigns", json=document), 422)
    assert error["code"] == "campaign.document_invalid"
    assert error["details"] == [
        {"node": None, "field": "name", "message": r"text must not contain NUL characters (\u0000)"}
    ]
    assert (
        error_of(client.put("/settings", json={"email_from_name": "a\u0000"}), 422)["details"][0]["field"]
        == "email_from_name"
    )


def test_deeply_nested_or_non_utf8_bodies_are_400(client: httpx.Client) -> None:
    deep = "[" * 70 + "]" * 70
    body = '{"customers": [{"external_id": "c1", "attributes": {"a": ' + deep + "}}]}"
    error = error_of(client.post("/customers", content=body, headers={"content-type": "application/json"}), 400)
    assert error["code"] == "invalid_json"
    assert "deeper than 64 levels" in error["message"]
    assert error["details"] == {"position": None}
    body = '{"customers": [{"external_id": "c1", "attributes": {"a": ' + "[" * 5000 + "]" * 5000 + "}}]}"
    assert (
        error_of(client.post("/customers", content=body, headers={"content-type": "application/json"}), 400)["code"]
        == "invalid_json"
    )
    error = error_of(
        client.post(
            "/customers",
            content=b'{"customers": [{"external_id": "\xff"}]}',
            headers={"content-type": "application/json"},
        ),
        400,
    )
    assert "UTF-8" in error["message"]


def test_nul_in_an_enrolment_is_refused(client: httpx.Client) -> None:
    campaign_id = start_campaign(client, {"name": "N", "trigger": {"type": "api_enrollment", "config": {}}})
    error = error_of(
        client.post(f"/campaigns/{campaign_id}/enroll", json={"customers": ["c1"], "context": {"note": "a\u0000"}}), 422
    )
    assert error["details"][0]["field"] == "context.note"


def test_database_refusals_and_crashes_keep_the_error_shape(services: Services) -> None:
    app = create_app(services=services)

    @app.get("/refused")
    def refused() -> None:
        raise DataError("INSERT …", {}, ValueError("value out of range\nDETAIL: more"))

    @app.get("/crash")
    def crash() -> None:
        raise RuntimeError("a bug")

    for route in app.routes[-2:]:  # added here, so declared here
        app.state.grants.grant(route, PUBLIC)

    with serve(app) as url, httpx.Client(base_url=url, trust_env=False) as client:
        error = error_of(client.get("/refused"), 422)
        assert error["code"] == "invalid_input"
        assert error["message"] == "the database refused a value: value out of range"
        error = error_of(client.get("/crash"), 500)
        assert error["code"] == "internal_error"
        assert "a bug" not in error["message"]
