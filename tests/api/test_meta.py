from __future__ import annotations

import httpx

from tests.conftest import START


def test_health(client: httpx.Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "clock": "manual", "now": START.isoformat().replace("+00:00", "Z")}
