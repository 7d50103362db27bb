"""The generic JSON HTTP SMS provider against a real HTTP server on loopback: the request it makes and how it
reads each answer; and the settings that configure it."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from tests.delivery.fakes import FakeProvider, fake_provider, fake_provider_server, provider_settings
from tidings.delivery.channels.sms import OutboundSms
from tidings.delivery.providers import SendResult, send_all
from tidings.delivery.sms_http import HttpSmsProvider, fill
from tidings.settings import Settings

__all__ = ["fake_provider", "fake_provider_server"]  # fixtures

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def gateway(fake: FakeProvider, **settings: Any) -> HttpSmsProvider:
    return HttpSmsProvider(Settings(**provider_settings(fake, **settings)))


def sms(n: int, text: str = "Hello") -> OutboundSms:
    return OutboundSms(n, f"7.{n}.s1.{n}", f"+3712000000{n}", "Shop", text)


def test_the_request_carries_the_filled_template_the_auth_header_and_the_key(fake_provider: FakeProvider) -> None:
    text = 'Say "hi"\nto Ann — €5 off\\now'
    [result] = send_all(gateway(fake_provider), [sms(1, text)], NOW)

    assert result.ok and result.provider_message_id is not None and result.provider_message_id.startswith("fake-")
    [request] = fake_provider.to("/sms")
    assert request.method == "POST"
    assert request.body == {"to": "+37120000001", "text": text, "sender": "Shop", "reference": "7.1.s1.1"}
    assert request.headers["authorization"] == "Bearer sms-secret"
    assert request.headers["idempotency-key"] == "7.1.s1.1"
    assert request.headers["content-type"] == "application/json"


def test_a_custom_body_template_and_a_nested_id(fake_provider: FakeProvider) -> None:
    template = '{"messages": [{"destination": "{to}", "body": "{text}"}], "from": "{sender}"}'
    fake_provider.answer(201, {"data": {"message": {"id": 991}}})
    provider = gateway(fake_provider, sms_body_template=template, sms_id_field="data.message.id", sms_auth_header=None)
    [result] = send_all(provider, [sms(1)], NOW)

    assert (result.ok, result.provider_message_id) == (True, "991")
    [request] = fake_provider.to("/sms")
    assert request.body == {"messages": [{"destination": "+37120000001", "body": "Hello"}], "from": "Shop"}
    assert "authorization" not in request.headers


@pytest.mark.parametrize(
    ("status", "headers", "ok", "transient", "retry_after"),
    [
        (200, {}, True, False, None),
        (202, {}, True, False, None),
        (400, {}, False, False, None),
        (404, {}, False, False, None),
        (422, {}, False, False, None),
        (401, {}, False, True, None),
        (408, {}, False, True, None),
        (429, {"Retry-After": "7"}, False, True, 7.0),
        (429, {"Retry-After": "soon"}, False, True, None),
        (500, {}, False, True, None),
        (503, {"Retry-After": "120"}, False, True, 120.0),
    ],
)
def test_each_status_is_read_as_sent_transient_or_permanent(
    fake_provider: FakeProvider,
    status: int,
    headers: dict[str, str],
    ok: bool,
    transient: bool,
    retry_after: float | None,
) -> None:
    fake_provider.answer(status, {"error": "nope"} if status >= 300 else {"id": "x1"}, headers=headers)
    [result] = send_all(gateway(fake_provider), [sms(1)], NOW)
    assert (result.ok, result.transient, result.retry_after) == (ok, transient, retry_after)
    if not ok:
        assert result.error is not None and result.error.startswith(f"HTTP {status}")


def test_a_timeout_is_transient(fake_provider: FakeProvider) -> None:
    fake_provider.answer(delay=1.5)
    [result] = send_all(gateway(fake_provider, provider_timeout_seconds=0.3), [sms(1)], NOW)
    assert (result.ok, result.transient) == (False, True)


def test_an_unreachable_gateway_fails_every_message_as_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(sms_provider="http", sms_url=f"http://127.0.0.1:{port}/sms")
    results = send_all(HttpSmsProvider(settings), [sms(1), sms(2)], NOW)
    assert [(r.message_id, r.ok, r.transient) for r in results] == [(1, False, True), (2, False, True)]
    assert results[0].error is not None and f"127.0.0.1:{port}" in results[0].error


def test_one_failure_is_one_result_among_successes(fake_provider: FakeProvider) -> None:
    fake_provider.answer(400, {"error": "bad number"}, when=lambda request: request.body["to"] == "+37120000002")
    results: list[SendResult] = send_all(gateway(fake_provider), [sms(1), sms(2), sms(3)], NOW)
    assert sorted((r.message_id, r.ok) for r in results) == [(1, True), (2, False), (3, True)]


def test_fill_escapes_for_json() -> None:
    assert fill('{"t": "{text}"}', {"text": 'a"b\\c\nd'}) == '{"t": "a\\"b\\\\c\\nd"}'


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"sms_provider": "http"}, "TIDINGS_SMS_PROVIDER=http needs TIDINGS_SMS_URL"),
        ({"viber_provider": "http"}, "needs TIDINGS_VIBER_URL"),
        ({"push_provider": "fcm", "fcm_url": "http://x"}, "needs TIDINGS_FCM_ACCESS_TOKEN"),
        ({"sms_body_template": '{"to": "{to}"}'}, "must contain {text}"),
        ({"sms_body_template": '{"to": {to}, "text": "{text}"}'}, "not JSON once filled in"),
        ({"sms_body_template": '["{to}", "{text}"]'}, "must be a JSON object"),
        ({"sms_auth_header": "Bearer abc"}, "`Name: value`"),
        ({"sms_rate_limit": -1}, "sms_rate_limit"),
        ({"sms_concurrency": 0}, "sms_concurrency"),
    ],
)
def test_bad_provider_settings_stop_the_start(settings: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(**settings)
    assert problem in str(refused.value)
