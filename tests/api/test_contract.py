"""The published contract (issue 12, item 13): schemathesis drives every operation of the served OpenAPI with
generated input, on both databases, bounded to a few examples each so that the suite stays short."""

from __future__ import annotations

from collections import Counter
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from tests.api.conftest import credentials
from tidings.api.app import create_app
from tidings.services import Services

EXAMPLES = 2
#: Operations that would end the caller's own sign-in for the rest of the run (tested in test_session/test_users).
SIGN_OUT = {("DELETE", "/api/v1/session"), ("PATCH", "/api/v1/users/{user_id}")}
#: Advancing the manual clock by a generated span (years) runs every job due in it: slow, not wrong.
SLOW = {("POST", "/api/v1/clock/advance")}
#: Signing in with generated credentials is refused with 401, as it should be.
SIGN_IN = "/api/v1/session"


def test_no_generated_input_makes_any_operation_answer_500(services: Services) -> None:
    app = create_app(services=services)
    headers = credentials(services)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    refused: list[str] = []
    for found in schema.get_all_operations():
        operation = found.ok()
        if (operation.method.upper(), operation.path) in SIGN_OUT | SLOW:
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def call(case: Any) -> None:
            # Generated credentials (an API key from the security scheme) would only test refusal: sign in.
            case.headers = {
                k: v for k, v in (case.headers or {}).items() if k.lower() not in ("authorization", "cookie")
            }
            response = case.call(headers=headers)
            statuses[response.status_code] += 1
            if response.status_code == 401 and case.operation.path != SIGN_IN:
                refused.append(f"{case.method} {case.operation.path}")
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.body!r:.200} → {response.status_code}")

        call()
    assert failures == []
    assert refused == [], statuses  # the calls got past sign-in  # the calls got past sign-in
