"""A fake loyalty program: a real HTTP server on loopback that keeps its own bonus ledger.

Like a real program it de-duplicates by ``Idempotency-Key``: a key it has answered is answered again with the
stored response (``Idempotent-Replayed: true``) and nothing is applied twice. A test scripts, per customer, what
the next requests meet:

- ``"ok"``        apply it and answer 201
- ``"slow"``      apply it, then answer only after ``slow_seconds`` (the client has timed out: outcome unknown)
- ``"500"`` / ``"503"`` / ``"429"``   refuse it without applying it (429 with ``Retry-After``)
- ``"reject:<code>"``   answer 422 ``{"error": {"code", "message"}}`` (remembered for the key, like a success)

A customer with no script left meets ``"ok"``.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.api.conftest import serve

TOKEN = "Bearer loyalty-test-token"


@dataclass
class Seen:
    path: str
    key: str | None
    body: dict[str, Any]
    authorization: str | None
    answer: int


@dataclass
class FakeLoyalty:
    url: str = ""
    slow_seconds: float = 1.0
    scripts: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    seen: list[Seen] = field(default_factory=list)
    ledger: list[dict[str, Any]] = field(default_factory=list)  # applied bonuses
    applied: list[dict[str, Any]] = field(default_factory=list)  # applied audience and subscription changes
    stored: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, customer: str, *steps: str) -> None:
        self.scripts[customer].extend(steps)

    def bonuses_of(self, customer: str) -> list[dict[str, Any]]:
        return [entry for entry in self.ledger if entry["customer"] == customer]

    def keys_of(self, customer: str) -> list[str | None]:
        return [seen.key for seen in self.seen if seen.body.get("customer") == customer]

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/loyalty/{kind}")
        async def handle(kind: str, request: Request) -> JSONResponse:
            body = await request.json()
            key = request.headers.get("idempotency-key")
            authorization = request.headers.get("authorization")
            if authorization != TOKEN:
                return self._answer(kind, key, body, authorization, 401, {"error": {"code": "unauthorized"}})
            with self.lock:
                if key in self.stored:
                    status, stored = self.stored[key]
                    self.seen.append(Seen(kind, key, body, authorization, status))
                    return JSONResponse(stored, status_code=status, headers={"Idempotent-Replayed": "true"})
                steps = self.scripts[str(body.get("customer"))]
                step = steps.pop(0) if steps else "ok"
            if step in ("500", "503", "429"):
                headers = {"Retry-After": "120"} if step == "429" else {}
                payload = {"error": {"code": "busy" if step == "429" else "unavailable", "message": "try later"}}
                return self._answer(kind, key, body, authorization, int(step), payload, headers)
            if step.startswith("reject:"):
                code = step.removeprefix("reject:")
                payload = {"error": {"code": code, "message": f"refused: {code}"}}
                self._remember(key, 422, payload)
                return self._answer(kind, key, body, authorization, 422, payload)
            payload = self._apply(kind, body, key)
            self._remember(key, 201, payload)
            if step == "slow":
                await asyncio.sleep(self.slow_seconds)
            return self._answer(kind, key, body, authorization, 201, payload)

        return app

    def _apply(self, kind: str, body: dict[str, Any], key: str | None) -> dict[str, Any]:
        with self.lock:
            if kind == "bonuses":
                self.ledger.append({**body, "key": key})
                return {"accrual_id": f"acc-{len(self.ledger)}", "status": "accrued"}
            self.applied.append({"kind": kind, **body, "key": key})
            return {"status": "applied"}

    def _remember(self, key: str | None, status: int, payload: dict[str, Any]) -> None:
        if key is not None:
            with self.lock:
                self.stored[key] = (status, payload)

    def _answer(
        self,
        kind: str,
        key: str | None,
        body: dict[str, Any],
        authorization: str | None,
        status: int,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> JSONResponse:
        with self.lock:
            self.seen.append(Seen(kind, key, body, authorization, status))
        return JSONResponse(payload, status_code=status, headers=headers)


@contextmanager
def fake_loyalty() -> Iterator[FakeLoyalty]:
    fake = FakeLoyalty()
    with serve(fake.app()) as base:
        fake.url = f"{base}/loyalty"
        yield fake
