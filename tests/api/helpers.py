"""Small builders shared by API tests."""

from __future__ import annotations

from typing import Any

import httpx


def add_customers(client: httpx.Client, *rows: dict[str, Any]) -> None:
    response = client.post("/customers", json={"customers": list(rows)})
    assert response.status_code == 200, response.text
    assert response.json()["errors"] == []


def start_campaign(client: httpx.Client, document: dict[str, Any]) -> int:
    created = client.post("/campaigns", json=document)
    assert created.status_code == 201, created.text
    campaign_id = int(created.json()["id"])
    activated = client.post(f"/campaigns/{campaign_id}/activate")
    assert activated.status_code == 200, activated.text
    return campaign_id


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The ``error`` object of a response that must have failed with ``status``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    error: dict[str, Any] = body["error"]
    return error
