"""Segments: saved conditions whose membership is stored and recomputed on a schedule.

A segment's condition is checked when it is saved (an error names the path in the tree). Its preview is live:
the condition is compiled and counted at request time, nothing is stored. Its membership lives in
``segment_members`` and is recomputed every ``recompute_minutes`` by the scheduler (and on request),
set-at-a-time: one ``DELETE`` for the customers who left, one ``INSERT … SELECT`` for those who joined (with
``since`` = the computation's time), one ``UPDATE`` for the size and the next due time.

Getting into a segment (the ``getting_into_segment`` trigger): in the same transaction as a recompute, the
customers who joined are written to ``trigger_inbox`` for every *active* campaign whose trigger listens to the
segment; the engine then enters them like any triggered customer (re-entry rules apply).

A computation that has no previous membership to compare with is a *baseline*: its members are stored but
nobody counts as having "entered". That is the first computation (done when the segment is created) and the
computation right after its condition is edited. So creating a segment, or redefining it, never floods the
campaigns listening to it with everyone who already matches; only customers who join afterwards enter them.

Two computations at the same instant (possible under the manual clock) stay distinguishable: the second is
stamped one microsecond after the first, so ``since`` always identifies exactly one computation's newcomers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Connection, RowMapping
from sqlalchemy.exc import SQLAlchemyError

from tidings.core.account import AccountSettings
from tidings.core.clock import Clock
from tidings.core.errors import ConditionInvalid, Conflict, NotFound
from tidings.model.catalog import Catalog
from tidings.model.conditions import CONDITION_TAGS, Condition
from tidings.segments.compiler import ConditionCompiler
from tidings.store import segments as segment_sql
from tidings.store.account import load_account
from tidings.store.catalog import load_catalog
from tidings.store.database import Database

log = logging.getLogger("tidings.segments")

CONDITION: TypeAdapter[Condition] = TypeAdapter(Condition)
_TAGS = set(CONDITION_TAGS.values())
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Recomputed:
    segment_id: int
    entered: int  # customers who joined
    left: int  # customers who left
    size: int
    computed_at: datetime
    next_recompute_at: datetime
    baseline: bool  # True: nobody was handed to the segment's triggers (first computation, or a new condition)


# -- conditions ----------------------------------------------------------------------------------------
def condition_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic error location inside a condition → ``condition.all[0].not``."""
    path = "condition"
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in _TAGS and not str(part).startswith("function-"):
            path += f".{part}"
    return path


def parse_condition(raw: Any, catalog: Catalog) -> Condition:
    """Check a condition tree against the catalog; ``ConditionInvalid`` lists every problem with its path."""
    try:
        return CONDITION.validate_python(raw, context={"catalog": catalog})
    except ValidationError as error:
        problems = []
        for item in error.errors(include_url=False):
            message = str(item["msg"]).removeprefix("Value error, ")
            if item["type"] == "extra_forbidden":
                message = "unknown field"
            problems.append({"field": condition_path(item["loc"]), "message": message})
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConditionInvalid(f"invalid condition: {first['field']}: {first['message']}{more}", problems) from None


def dump_condition(condition: Condition) -> dict[str, Any]:
    dumped: dict[str, Any] = CONDITION.dump_python(condition, mode="json", by_alias=True)
    return dumped


# -- recomputing ---------------------------------------------------------------------------------------
def recompute(
    conn: Connection,
    segment: RowMapping,
    *,
    now: datetime,
    account: AccountSettings,
    catalog: Catalog,
    baseline: bool = False,
) -> Recomputed:
    """Bring the stored membership of ``segment`` (a locked row) up to date at ``now``.

    Unless this is a baseline (or the segment was never computed), the customers who joined — and those who
    left — are handed to the active campaigns whose trigger listens for that change, in this same transaction.
    """
    segment_id = int(segment["id"])
    condition = parse_condition(segment["condition"], catalog)
    matches = ConditionCompiler(now, account.timezone).compile(condition)
    last: datetime | None = segment["last_computed_at"]
    baseline = baseline or last is None
    stamp = now if last is None or last < now else last + _TICK
    if not baseline:
        conn.execute(segment_sql.leavers_to_inbox(segment_id, matches))
    left = conn.execute(segment_sql.remove_leavers(segment_id, matches)).rowcount
    entered = conn.execute(segment_sql.add_newcomers(segment_id, matches, since=stamp)).rowcount
    if entered and not baseline:
        conn.execute(segment_sql.newcomers_to_inbox(segment_id, since=stamp))
    following = now + timedelta(minutes=int(segment["recompute_minutes"]))
    conn.execute(segment_sql.record_computation(segment_id, computed_at=stamp, next_recompute_at=following))
    size = int(conn.execute(segment_sql.get_segment(segment_id)).mappings().one()["size"])
    return Recomputed(segment_id, entered, left, size, stamp, following, baseline)


def recompute_due(db: Database, now: datetime, account: AccountSettings) -> int:
    """Recompute every segment whose time has come, each in its own transaction; returns how many.

    A segment that cannot be computed (its stored condition no longer fits the catalog, or the database
    refuses the query) keeps its membership, is logged, and is tried again after its interval, so that one
    broken segment never stalls the scheduler.
    """
    done = 0
    while True:
        segment: RowMapping | None = None
        try:
            with db.engine.begin() as conn:
                segment = conn.execute(segment_sql.claim_due_segment(db.dialect, now=now)).mappings().first()
                if segment is None:
                    return done
                recompute(conn, segment, now=now, account=account, catalog=load_catalog(conn))
        except (ConditionInvalid, SQLAlchemyError):
            if segment is None:
                raise
            log.exception("segment %s could not be recomputed; trying again in its interval", segment["id"])
            with db.engine.begin() as conn:
                following = now + timedelta(minutes=int(segment["recompute_minutes"]))
                conn.execute(segment_sql.postpone(int(segment["id"]), next_recompute_at=following))
        done += 1


# -- the service behind the API ------------------------------------------------------------------------
class SegmentService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def _row(self, conn: Connection, segment_id: int, *, for_update: bool = False) -> RowMapping:
        row = conn.execute(segment_sql.get_segment(segment_id, for_update=for_update)).mappings().first()
        if row is None:
            raise NotFound(f"segment {segment_id} does not exist", details={"segment_id": segment_id})
        return row

    def create(self, name: str, raw_condition: Any, recompute_minutes: int) -> dict[str, Any]:
        """Save a segment and compute its membership at once (a baseline: nobody "enters" it)."""
        now = self.clock.now()
        with self.db.engine.begin() as conn:
            catalog = load_catalog(conn)
            condition = dump_condition(parse_condition(raw_condition, catalog))
            inserted = conn.execute(
                segment_sql.insert_segment(name=name, condition=condition, recompute_minutes=recompute_minutes, now=now)
            ).inserted_primary_key
            assert inserted is not None
            segment_id = int(inserted[0])
            segment = self._row(conn, segment_id, for_update=True)
            recompute(conn, segment, now=now, account=load_account(conn), catalog=catalog, baseline=True)
            return summary(self._row(conn, segment_id))

    def update(self, segment_id: int, name: str, raw_condition: Any, recompute_minutes: int) -> dict[str, Any]:
        """Replace a segment's definition. A new condition is computed at once as a baseline (customers who
        match only because the definition changed do not "enter" it); a new interval reschedules the next
        recompute from the last one."""
        now = self.clock.now()
        with self.db.engine.begin() as conn:
            segment = self._row(conn, segment_id, for_update=True)
            catalog = load_catalog(conn)
            condition = dump_condition(parse_condition(raw_condition, catalog))
            values: dict[str, Any] = {"name": name, "condition": condition, "recompute_minutes": recompute_minutes}
            if recompute_minutes != segment["recompute_minutes"]:
                since = segment["last_computed_at"] or now
                values["next_recompute_at"] = since + timedelta(minutes=recompute_minutes)
            conn.execute(segment_sql.update_segment(segment_id, now=now, **values))
            if condition != segment["condition"]:
                changed = self._row(conn, segment_id)
                recompute(conn, changed, now=now, account=load_account(conn), catalog=catalog, baseline=True)
            return summary(self._row(conn, segment_id))

    def get(self, segment_id: int) -> dict[str, Any]:
        with self.db.engine.connect() as conn:
            return summary(self._row(conn, segment_id))

    def list_all(self, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(segment_sql.list_segments(limit=limit, offset=offset)).mappings().all()
            total = int(conn.execute(segment_sql.count_segments()).scalar_one())
        return [summary(row) for row in rows], total

    def delete(self, segment_id: int) -> None:
        """Delete a segment and its membership; refused while a running campaign's trigger listens to it."""
        with self.db.engine.begin() as conn:
            self._row(conn, segment_id, for_update=True)
            listening = conn.execute(segment_sql.campaigns_listening(segment_id)).all()
            if listening:
                names = ", ".join(f"{campaign_id} ({name!r})" for campaign_id, name in listening)
                raise Conflict(
                    f"segment {segment_id} is the trigger of running campaigns: {names}; stop them first",
                    details={"campaigns": [campaign_id for campaign_id, _ in listening]},
                )
            conn.execute(segment_sql.delete_segment(segment_id))

    def preview(self, raw_condition: Any, *, sample: int) -> dict[str, Any]:
        """Count the customers matching a condition now, with the first ``sample`` of them; nothing is stored."""
        with self.db.engine.connect() as conn:
            condition = parse_condition(raw_condition, load_catalog(conn))
            return self._preview(conn, condition, sample)

    def preview_saved(self, segment_id: int, *, sample: int) -> dict[str, Any]:
        """The live preview of a saved segment's condition (not its stored membership)."""
        with self.db.engine.connect() as conn:
            segment = self._row(conn, segment_id)
            condition = parse_condition(segment["condition"], load_catalog(conn))
            return self._preview(conn, condition, sample)

    def _preview(self, conn: Connection, condition: Condition, sample: int) -> dict[str, Any]:
        now = self.clock.now()
        matches = ConditionCompiler(now, load_account(conn).timezone).compile(condition)
        count = int(conn.execute(segment_sql.count_matching(matches)).scalar_one())
        rows = conn.execute(segment_sql.sample_matching(matches, limit=sample)).mappings().all() if sample else []
        return {"count": count, "computed_at": now, "sample": [dict(row) for row in rows]}

    def recompute_now(self, segment_id: int) -> Recomputed:
        """Recompute on request; newcomers go to listening campaigns exactly as at a scheduled recompute."""
        now = self.clock.now()
        with self.db.engine.begin() as conn:
            segment = self._row(conn, segment_id, for_update=True)
            return recompute(conn, segment, now=now, account=load_account(conn), catalog=load_catalog(conn))

    def members(self, segment_id: int, *, limit: int, offset: int) -> dict[str, Any]:
        """The stored membership (as of the last recompute), by customer."""
        with self.db.engine.connect() as conn:
            segment = self._row(conn, segment_id)
            rows = conn.execute(segment_sql.members_page(segment_id, limit=limit, offset=offset)).mappings().all()
        return {
            "segment_id": segment_id,
            "size": int(segment["size"]),
            "computed_at": segment["last_computed_at"],
            "items": [dict(row) for row in rows],
        }


def summary(row: RowMapping) -> dict[str, Any]:
    return {
        "id": int(row["id"]),
        "name": row["name"],
        "condition": row["condition"],
        "recompute_minutes": int(row["recompute_minutes"]),
        "size": int(row["size"]),
        "last_computed_at": row["last_computed_at"],
        "next_recompute_at": row["next_recompute_at"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
