"""The built-in loyalty adapter, for stand-alone use: bonuses credit the internal points ledger.

A bonus becomes one ``points_ledger`` row (unique per entry × node × customer) and raises the customer's
``points_balance``, inside the transaction that marks the request done. With no external program there is
nothing to tell about audience changes or subscription changes: those requests are acknowledged as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from tidings.core.dialect import Dialect
from tidings.core.localtime import local_instant
from tidings.loyalty.adapter import LoyaltyCall, LoyaltyResult
from tidings.store import points
from tidings.store.account import load_account


class BuiltinLedger:
    name = "builtin"
    in_transaction = True

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    def apply(self, conn: Connection | None, calls: Sequence[LoyaltyCall], now: datetime) -> list[LoyaltyResult]:
        assert conn is not None, "the built-in ledger writes inside the transaction that records the outcomes"
        bonuses = [call for call in calls if call.kind == "bonus"]
        results = [
            LoyaltyResult(call.request_id, "done", response={"adapter": self.name, "applied": False})
            for call in calls
            if call.kind != "bonus"
        ]
        if not bonuses:
            return results
        timezone = load_account(conn).timezone
        conn.execute(points.lock_customers_by_id({call.customer_id for call in bonuses})).all()
        rows = [_ledger_row(call, now, timezone) for call in bonuses]
        created = list(conn.execute(points.insert_ledger_rows(self.dialect), rows).scalars())
        if created:
            conn.execute(points.add_ledger_rows_to_balances(created))
        for call, row in zip(bonuses, rows, strict=True):
            expires = row["expires_at"]
            response = {
                "adapter": self.name,
                "applied": True,
                "amount": str(row["amount"]),
                "expires_at": expires.isoformat() if expires else None,
            }
            results.append(LoyaltyResult(call.request_id, "done", response=response))
        return results

    def close(self) -> None:
        return None


def _ledger_row(call: LoyaltyCall, now: datetime, timezone: str) -> dict[str, Any]:
    payload = call.payload
    return {
        "customer_id": call.customer_id,
        "amount": Decimal(str(payload["amount"])).quantize(Decimal("0.01")),
        "reason": payload.get("description"),
        "campaign_id": call.campaign_id or None,
        "entry_id": call.entry_id,
        "node_id": call.node_id,
        "created_at": now,
        "expires_at": _expiry(payload, now, timezone),
    }


def _expiry(payload: dict[str, Any], now: datetime, timezone: str) -> datetime | None:
    """Lifetime in days from the accrual, or the end of the given date in the account time zone."""
    if payload.get("expiry_days") is not None:
        return now + timedelta(days=int(payload["expiry_days"]))
    if payload.get("expiry_date") is not None:
        return local_instant(date.fromisoformat(payload["expiry_date"]) + timedelta(days=1), time(), timezone)
    return None
