"""Campaign lifecycle and versions (D13): draft → active ⇄ paused → stopped → archived.

Every save of a campaign that has run creates a new version; customers inside move on by node id, and a
node that disappeared releases its customers along its first surviving child or drops them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from tidings.core.clock import Clock
from tidings.core.errors import InvalidInput, InvalidTransition, NotFound
from tidings.core.outcomes import ENTERED, Dropped, counter
from tidings.core.triggers import listened_segment
from tidings.document.cache import DocumentCache
from tidings.document.campaign import CampaignDocument
from tidings.document.registry import TRIGGERS
from tidings.document.validation import parse_document
from tidings.engine.arrival import due_on_arrival
from tidings.engine.counters import CounterDelta
from tidings.engine.triggering import enroll_by_api, first_fire_at
from tidings.store import campaigns as campaign_sql
from tidings.store import journeys
from tidings.store import segments as segment_sql
from tidings.store.account import load_account
from tidings.store.catalog import load_catalog
from tidings.store.customers import ids_by_external
from tidings.store.database import Database

CENT = Decimal("0.01")

TRANSITIONS: dict[str, dict[str, str]] = {
    "activate": {"draft": "active", "paused": "active"},
    "pause": {"active": "paused"},
    "stop": {"active": "stopped", "paused": "stopped"},
    "archive": {"draft": "archived", "stopped": "archived"},
}


@dataclass(frozen=True)
class EditImpact:
    """What a save did (or, in a dry run, would do) to the customers inside the campaign."""

    stay: int = 0
    rerouted: int = 0
    dropped: int = 0


class CampaignService:
    def __init__(self, db: Database, documents: DocumentCache, clock: Clock) -> None:
        self.db = db
        self.documents = documents
        self.clock = clock

    # -- reading -------------------------------------------------------------------------------------
    def _row(self, conn: Connection, campaign_id: int, *, for_update: bool = False) -> Any:
        row = conn.execute(campaign_sql.get_campaign(campaign_id, for_update=for_update)).mappings().first()
        if row is None:
            raise NotFound(f"campaign {campaign_id} does not exist", details={"campaign_id": campaign_id})
        return row

    def get(self, campaign_id: int) -> dict[str, Any]:
        with self.db.engine.connect() as conn:
            row = self._row(conn, campaign_id)
            document = self.documents.get(conn, campaign_id, row["current_version"])
        return _summary(row) | {"document": document.model_dump(mode="json", by_alias=True)}

    def list_all(self) -> list[dict[str, Any]]:
        """Every campaign's summary, with the orders and revenue credited to it."""
        with self.db.engine.connect() as conn:
            return [
                _summary(row) | {"orders": int(row["orders"]), "revenue": float(Decimal(row["revenue"]).quantize(CENT))}
                for row in conn.execute(campaign_sql.list_campaigns()).mappings()
            ]

    # -- writing -------------------------------------------------------------------------------------
    def _parse(self, raw: Any) -> CampaignDocument:
        # Checked with no transaction open: on SQLite a transaction holds the write lock.
        with self.db.engine.connect() as conn:
            catalog = load_catalog(conn)
        return parse_document(raw, catalog)

    def create(self, raw: Any) -> dict[str, Any]:
        document = self._parse(raw)
        now = self.clock.now()
        with self.db.engine.begin() as conn:
            campaign_id = conn.execute(campaign_sql.insert_campaign(name=document.name, now=now)).inserted_primary_key
            assert campaign_id is not None
            conn.execute(
                campaign_sql.insert_version(
                    campaign_id=campaign_id[0],
                    version=1,
                    document=document.model_dump(mode="json", by_alias=True),
                    now=now,
                )
            )
        return {"id": campaign_id[0], "version": 1, "status": "draft"}

    def update(self, campaign_id: int, raw: Any, *, dry_run: bool = False) -> dict[str, Any]:
        document = self._parse(raw)
        now = self.clock.now()
        with self.db.engine.begin() as conn:
            row = self._row(conn, campaign_id, for_update=True)
            if row["status"] == "archived":
                raise InvalidTransition(f"campaign {campaign_id} is archived; duplicate it to change it")
            old = self.documents.get(conn, campaign_id, row["current_version"])
            impact = self._migrate(conn, campaign_id, old, document, row["current_version"] + 1, dry_run=True)
            if dry_run:
                conn.rollback()
                return {"version": row["current_version"], "dry_run": True, "affected": asdict(impact)}
            payload = document.model_dump(mode="json", by_alias=True)
            if row["status"] == "draft":
                version = row["current_version"]
                conn.execute(campaign_sql.replace_version(campaign_id=campaign_id, version=version, document=payload))
                self.documents.forget(campaign_id, version)
            else:
                version = row["current_version"] + 1
                conn.execute(
                    campaign_sql.insert_version(campaign_id=campaign_id, version=version, document=payload, now=now)
                )
                impact = self._migrate(conn, campaign_id, old, document, version, dry_run=False)
            conn.execute(campaign_sql.set_current(campaign_id, version=version, name=document.name, now=now))
            if row["status"] in ("active", "paused") and _trigger_changed(old, document):
                self._arm_trigger(conn, campaign_id, document)
        return {"version": version, "dry_run": False, "affected": asdict(impact)}

    def _migrate(
        self,
        conn: Connection,
        campaign_id: int,
        old: CampaignDocument,
        new: CampaignDocument,
        version: int,
        *,
        dry_run: bool,
    ) -> EditImpact:
        now = self.clock.now()
        account = load_account(conn)
        stay = rerouted = dropped = 0
        counters = CounterDelta(campaign_id, f"edit:{version}")
        for node_id, count in conn.execute(journeys.tokens_per_node(campaign_id)).all():
            target = node_id if new.has_node(node_id) else _surviving_child(old, new, node_id)
            if target == node_id:
                stay += count
            elif target is not None:
                rerouted += count
            else:
                dropped += count
            if dry_run:
                continue
            if target is None:
                conn.execute(journeys.trace_removed(campaign_id, node_id=node_id, now=now, reason="node_removed"))
                conn.execute(journeys.delete_tokens(campaign_id, node_id=node_id))
                counters.count(node_id, Dropped("node_removed"), count)
            else:
                if target != node_id:  # the trace and the counters say where they went and why
                    conn.execute(
                        journeys.trace_removed(
                            campaign_id, node_id=node_id, now=now, reason="node_removed", outcome="removed"
                        )
                    )
                    counters.add(node_id, counter("removed", "node_removed"), count)
                    counters.add(target, ENTERED, count)
                due = due_on_arrival(new, target, now, account) if target != node_id else None
                conn.execute(
                    journeys.retarget_tokens(
                        campaign_id, node_id=node_id, version=version, target=target, now=now, due_at=due
                    )
                )
        if dropped and not dry_run:
            conn.execute(journeys.finish_entries_without_tokens(campaign_id, now=now, status="completed"))
        if not dry_run:
            counters.write(conn, self.db.dialect)
        return EditImpact(stay, rerouted, dropped)

    def transition(self, campaign_id: int, verb: str) -> dict[str, Any]:
        now = self.clock.now()
        with self.db.engine.begin() as conn:
            row = self._row(conn, campaign_id, for_update=True)
            target = TRANSITIONS[verb].get(row["status"])
            if target is None:
                allowed = ", ".join(sorted(TRANSITIONS[verb]))
                raise InvalidTransition(
                    f"cannot {verb} campaign {campaign_id}: it is {row['status']}; {verb} applies to: {allowed}",
                    details={"status": row["status"]},
                )
            document = self.documents.get(conn, campaign_id, row["current_version"])
            if verb == "activate":
                self._arm_trigger(conn, campaign_id, document)
            elif verb == "stop":
                conn.execute(journeys.trace_removed(campaign_id, node_id=None, now=now, reason="campaign_stopped"))
                counters = CounterDelta(campaign_id, "stop")
                for node_id, count in conn.execute(journeys.tokens_per_node(campaign_id)).all():
                    counters.count(node_id, Dropped("campaign_stopped"), count)
                counters.write(conn, self.db.dialect)
                conn.execute(journeys.delete_tokens(campaign_id))
                conn.execute(journeys.finish_entries_without_tokens(campaign_id, now=now, status="stopped"))
                conn.execute(campaign_sql.delete_trigger(campaign_id))
                conn.execute(campaign_sql.clear_inbox(campaign_id))
            conn.execute(campaign_sql.set_status(campaign_id, status=target, now=now))
        return {"id": campaign_id, "status": target}

    def _arm_trigger(self, conn: Connection, campaign_id: int, document: CampaignDocument) -> None:
        trigger = TRIGGERS[document.trigger.type]
        account = load_account(conn)
        next_fire_at, fire_cursor = first_fire_at(document, self.clock.now(), account), None
        in_progress = conn.execute(campaign_sql.fire_in_progress(campaign_id)).first()
        if in_progress is not None and in_progress.kind == trigger.kind:  # paused part-way through a fire: finish it
            next_fire_at, fire_cursor = in_progress.next_fire_at, in_progress.fire_cursor
        for statement in campaign_sql.replace_trigger(
            campaign_id=campaign_id,
            kind=trigger.kind,
            event_name=trigger.event_name(document.trigger.config),
            next_fire_at=next_fire_at,
            fire_cursor=fire_cursor,
        ):
            conn.execute(statement)
        listened = listened_segment(trigger, document.trigger.config)
        if listened is not None:
            conn.execute(segment_sql.listen_to_segment(campaign_id, *listened))

    def enroll(self, campaign_id: int, external_ids: list[str], context: dict[str, Any] | None) -> dict[str, Any]:
        if not external_ids:
            raise InvalidInput("customers: give at least one external id", details={"field": "customers"})
        now = self.clock.now()
        with self.db.engine.begin() as conn:
            row = self._row(conn, campaign_id)
            if row["status"] != "active":
                raise InvalidTransition(f"campaign {campaign_id} is {row['status']}; only an active campaign enrols")
            found: dict[str, int] = dict(conn.execute(ids_by_external(external_ids)).all())
            unknown: list[str] = sorted(set(external_ids) - set(found))
            entered = enroll_by_api(
                conn, self.db, self.documents, campaign_id, list(found.values()), context, now, load_account(conn)
            )
        return {"entered": entered, "not_entered": len(found) - entered, "unknown_customers": unknown}


def _surviving_child(old: CampaignDocument, new: CampaignDocument, node_id: str) -> str | None:
    child = old.first_child(node_id)
    while child is not None and not new.has_node(child):
        child = old.first_child(child)
    return child


def _trigger_changed(old: CampaignDocument, new: CampaignDocument) -> bool:
    return bool(old.trigger.model_dump() != new.trigger.model_dump())


def _summary(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "status": row["status"],
        "status_reason": row["status_reason"],
        "version": row["current_version"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }
