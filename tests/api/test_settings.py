from __future__ import annotations

import httpx

from tests.api.helpers import error_of

DEFAULTS = {
    "timezone": "UTC",
    "delivery_window_start": "09:00",
    "delivery_window_end": "21:00",
    "email_from": "campaigns@tidings.local",
    "email_from_name": "Tidings",
}


def test_defaults_and_a_partial_change(client: httpx.Client) -> None:
    assert client.get("/settings").json() == DEFAULTS
    changed = client.put("/settings", json={"timezone": "Europe/Riga", "delivery_window_start": "08:30"})
    assert changed.status_code == 200, changed.text
    expected = DEFAULTS | {"timezone": "Europe/Riga", "delivery_window_start": "08:30"}
    assert changed.json() == expected
    assert client.get("/settings").json() == expected
    everything = {
        "timezone": "America/New_York",
        "delivery_window_start": "00:00",
        "delivery_window_end": "23:59",
        "email_from": "news@shop.example",
        "email_from_name": "Shop",
    }
    assert client.put("/settings", json=everything).json() == everything


def test_bad_settings_are_422_naming_the_field(client: httpx.Client) -> None:
    for body, field in [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"delivery_window_start": "9:00"}, "delivery_window_start"),
        ({"delivery_window_end": "24:00"}, "delivery_window_end"),
        ({"email_from": "not an address"}, "email_from"),
        ({"email_from_name": None}, "email_from_name"),
        ({"language": "lv"}, "language"),
    ]:
        error = error_of(client.put("/settings", json=body), 422)
        assert error["code"] == "invalid_input"
        assert error["details"][0]["field"] == field, body
    error = error_of(client.put("/settings", json={"delivery_window_start": "22:00"}), 422)
    assert "22:00–21:00" in error["message"]
    assert error["details"][0]["field"] == "delivery_window_end"
    assert client.get("/settings").json() == DEFAULTS
