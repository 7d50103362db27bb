"""Every table, declared once. Alembic migrations are checked against this metadata by a test."""

from __future__ import annotations

from typing import Any, get_args

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from tidings.core.triggers import SegmentChange
from tidings.model.statuses import EntryStatus, FeedbackOutcome, LoyaltyRequestStatus, MessageStatus, SuppressionReason
from tidings.model.users import Role
from tidings.store.types import BigId, Json, Timestamp

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _one_of(column: str, vocabulary: Any) -> CheckConstraint:
    """CHECK that ``column`` holds a value of the ``Literal`` ``vocabulary`` (named ``ck_<table>_<column>``)."""
    allowed = ", ".join(f"'{value}'" for value in get_args(vocabulary))
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


account_settings = Table(
    "account_settings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("delivery_window_start", Integer, nullable=False, server_default="540"),  # minutes after midnight
    Column("delivery_window_end", Integer, nullable=False, server_default="1260"),
    Column("email_from", String(320), nullable=False, server_default="campaigns@tidings.local"),
    Column("email_from_name", String(200), nullable=False, server_default="Tidings"),
    Column("updated_at", Timestamp, nullable=True),
)

customers = Table(
    "customers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("external_id", String(128), nullable=False, unique=True),
    Column("email", String(320)),
    Column("phone", String(32)),
    Column("first_name", String(200)),
    Column("last_name", String(200)),
    Column("middle_name", String(200)),
    Column("birthday", Date),
    Column("gender", String(16)),
    Column("city", String(200)),
    Column("timezone", String(64)),
    Column("registered_at", Timestamp),
    Column("store_code", String(64)),
    Column("manager_id", BigInteger),  # the responsible manager (users.id), for Notify manager (D8)
    Column("attributes", Json, nullable=False, server_default=text("'{}'")),
    Column("points_balance", Numeric(18, 2), nullable=False, server_default="0"),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

channel_subscriptions = Table(
    "channel_subscriptions",
    metadata,
    Column("customer_id", BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("status", String(2), nullable=False),  # Y | N
    Column("updated_at", Timestamp, nullable=False),
)

mailing_categories = Table(
    "mailing_categories",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("description", Text),
)

category_subscriptions = Table(
    "category_subscriptions",
    metadata,
    Column("customer_id", BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", BigInteger, ForeignKey("mailing_categories.id", ondelete="CASCADE"), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("status", String(2), nullable=False),  # Y | N
    Column("updated_at", Timestamp, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("customer_id", BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), nullable=True),
    Column("name", String(128), nullable=False),
    Column("properties", Json, nullable=False, server_default=text("'{}'")),
    Column("occurred_at", Timestamp, nullable=False),
    Column("received_at", Timestamp, nullable=False),
    Column("ingest_batch", String(36), nullable=False),
    Index("ix_events_customer_name", "customer_id", "name", "occurred_at"),
    Index("ix_events_ingest_batch", "ingest_batch"),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # draft | active | paused | stopped | archived
    Column("status_reason", Text),
    Column("current_version", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

campaign_versions = Table(
    "campaign_versions",
    metadata,
    Column("campaign_id", BigInteger, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("document", Json, nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

# What a campaign's trigger is waiting for: an event name, or the next time a date trigger fires.
campaign_triggers = Table(
    "campaign_triggers",
    metadata,
    Column("campaign_id", BigInteger, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("event_name", String(128)),
    Column("segment_id", BigInteger),
    Column("next_fire_at", Timestamp),
    Column("last_fired_at", Timestamp),
    # A whole-base fire in progress enters its audience in slices by customer id: the last id of the slices done.
    Column("fire_cursor", BigInteger),
    # A segment trigger enrols the customers who enter its segment, or those who leave it.
    Column("segment_change", String(8), nullable=False, server_default="entered"),
    _one_of("segment_change", SegmentChange),
    Index("ix_campaign_triggers_event_name", "event_name"),
)

# Events matched to the event triggers of active campaigns, written in the same transaction as the event,
# so a trigger never misses an event whose transaction committed late.
trigger_inbox = Table(
    "trigger_inbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("campaign_id", BigInteger, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", BigInteger, ForeignKey("events.id", ondelete="CASCADE"), nullable=True),
    Column("customer_id", BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), nullable=True),
    Index("ix_trigger_inbox_campaign", "campaign_id", "id"),
)

entries = Table(
    "entries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    # No foreign keys here: entering a million customers would check (and share-lock) a million parent rows.
    Column("campaign_id", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("entered_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp),
    Column("context", Json),
    Column("event_id", BigInteger),  # the event that started the entry, if any
    Column("is_control", Boolean, nullable=False, server_default="0"),  # D1: customer-facing actions suppressed
    Column("trigger_batch", String(36), nullable=False),
    _one_of("status", EntryStatus),
    Index("ix_entries_campaign_customer", "campaign_id", "customer_id", "entered_at"),
    Index(
        "uq_entries_one_active",
        "campaign_id",
        "customer_id",
        unique=True,
        postgresql_where=text("status = 'active'"),
        sqlite_where=text("status = 'active'"),
    ),
)

# One row per customer token inside a campaign, at a node until it is due there (due_at <= now). A chunk claims
# rows by locking them for its one transaction (``store.journeys.claim_chunk``), so claiming writes nothing here.
journey_state = Table(
    "journey_state",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("campaign_id", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
    Column("entry_id", BigInteger, nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("node_id", String(64), nullable=False),
    Column("arrived_at", Timestamp, nullable=False),
    Column("due_at", Timestamp, nullable=False),
    # A node's due rows in due order (the claim), its head (is anything due?) and its size (counters, edits).
    Index("ix_journey_state_node_due", "campaign_id", "node_id", "due_at"),
    # An entry's other tokens: completing it after a fan-out, merged branches (D15).
    Index("ix_journey_state_entry", "entry_id"),
)

# The chunk being advanced, in the advancing transaction's own connection: which rows it claimed and, once the
# node's rules ran, the outcome of each (and until when a held row waits). Rows the chunk sent on to a node due at
# once wait there for their step ("parked for" that node) while the chunk advances another node's rows. A temporary
# table, so writing it costs neither the shared buffers nor the write-ahead log; it is declared apart from
# ``metadata`` (no migration makes it). On PostgreSQL every commit empties it (a truncation, not a row-by-row
# delete), and it leaves half of each page free: a step rewrites each row's outcome, which then stays on its page
# (a HOT update, no new primary-key entry).
scratch = MetaData()
journey_chunk = Table(
    "journey_chunk",
    scratch,
    Column("id", BigInteger, primary_key=True, autoincrement=False),  # the journey_state row
    Column("entry_id", BigInteger, nullable=False),
    Column("outcome", String(96)),  # core.outcomes.encode
    Column("until", Timestamp),  # a held row's next due time
    Column("parked_for", String(64)),  # the node whose step this row waits for; NULL: the step being advanced
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
    postgresql_with={"fillfactor": 50},
)

journey_trace = Table(
    "journey_trace",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("campaign_id", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
    Column("entry_id", BigInteger, nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("node_id", String(64), nullable=False),
    Column("arrived_at", Timestamp, nullable=False),
    Column("at", Timestamp, nullable=False),
    Column("outcome", String(16), nullable=False),  # entered | performed | dropped | removed
    Column("port", String(64)),
    Column("reason", String(64)),
    Index("ix_journey_trace_customer", "customer_id", "at"),
)

node_counters = Table(
    "node_counters",
    metadata,
    Column("campaign_id", BigInteger, primary_key=True),
    Column("node_id", String(64), primary_key=True),
    Column("metric", String(80), primary_key=True),  # named by core.outcomes (entered, performed, per port, per reason)
    Column("shard", Integer, primary_key=True),  # spreads concurrent increments over rows
    Column("value", BigInteger, nullable=False),
)

messages = Table(
    "messages",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("campaign_id", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
    Column("entry_id", BigInteger, nullable=False),
    Column("node_id", String(64), nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("status", String(16), nullable=False),
    Column("subject", Text),
    Column("body", Text),
    Column("send_after", Timestamp, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("sent_at", Timestamp),
    Column("delivered_at", Timestamp),
    Column("opened_at", Timestamp),
    Column("clicked_at", Timestamp),
    Column("bounced_at", Timestamp),
    Column("complained_at", Timestamp),
    Column("unsubscribed_at", Timestamp),
    Column("expires_at", Timestamp),  # message lifetime: undeliverable after this
    Column("payload", Json),  # channel-specific content (SMS text, push title, Viber button, …) once rendered
    Column("fallback_of", BigInteger),  # Viber → SMS cascade: the Viber message this SMS replaces
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("leased_until", Timestamp),
    Column("provider", String(32)),
    Column("provider_message_id", String(200)),
    Column("error", Text),
    UniqueConstraint("entry_id", "node_id", "customer_id", name="uq_messages_once_per_entry_node"),
    _one_of("status", MessageStatus),
    # The delivery queue: on PostgreSQL only the messages still to send (and bounced ones, for the Viber → SMS
    # cascade), so marking a message sent adds no entry here.
    Index(
        "ix_messages_queue", "status", "send_after", postgresql_where=text("status IN ('queued', 'sending', 'bounced')")
    ),
    Index("ix_messages_campaign_node", "campaign_id", "node_id"),
    Index("ix_messages_customer", "customer_id"),
    Index(
        "ix_messages_provider_message_id",
        "provider",
        "provider_message_id",
        postgresql_where=text("provider_message_id IS NOT NULL"),
        sqlite_where=text("provider_message_id IS NOT NULL"),
    ),
)

mailbox = Table(
    "mailbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    # The message it is (no foreign key: only delivery writes here, with the ids of the messages it sends, and a
    # key checked per row would share-lock each message row, a second write of every message delivered).
    Column("message_id", BigInteger, nullable=False, unique=True),
    Column("recipient", String(320), nullable=False),
    Column("sender", String(400), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body_html", Text, nullable=False),
    Column("received_at", Timestamp, nullable=False),
    Index("ix_mailbox_recipient", "recipient"),
)

clock_state = Table(
    "clock_state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("now", Timestamp, nullable=False),
    Column("manual", Boolean, nullable=False),
)


# -- customer data beyond the profile (segmentation) -------------------------------------------------------

custom_fields = Table(
    "custom_fields",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("code", String(64), nullable=False, unique=True),  # used as customers.attributes[code]
    Column("name", String(200), nullable=False),
    Column("type", String(16), nullable=False),  # text | number | date | datetime | boolean
    Column("created_at", Timestamp, nullable=False),
)

stores = Table(
    "stores",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("city", String(200)),
    Column("timezone", String(64)),
)

product_categories = Table(
    "product_categories",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("parent_code", String(64)),
)

products = Table(
    "products",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("sku", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("category_code", String(64)),
    Column("price", Numeric(18, 2)),
)

# Orders and receipts share one table: a receipt is a completed purchase in a store, an order may be placed
# online and later paid or cancelled.
orders = Table(
    "orders",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("external_id", String(128), nullable=False),
    Column("kind", String(8), nullable=False),  # order | receipt
    Column("customer_id", BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),  # created | paid | cancelled | returned
    Column("store_code", String(64)),
    Column("total", Numeric(18, 2), nullable=False),
    Column("placed_at", Timestamp, nullable=False),
    Column("paid_at", Timestamp),
    Column("cancelled_at", Timestamp),
    Column("attributes", Json, nullable=False, server_default=text("'{}'")),
    UniqueConstraint("kind", "external_id", name="uq_orders_kind_external_id"),
    Index("ix_orders_customer", "customer_id", "placed_at"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("category_code", String(64)),
    Column("quantity", Numeric(18, 3), nullable=False),
    Column("price", Numeric(18, 2), nullable=False),
    Column("amount", Numeric(18, 2), nullable=False),
    Index("ix_order_lines_order", "order_id"),
)

segments = Table(
    "segments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("condition", Json, nullable=False),
    Column("recompute_minutes", Integer, nullable=False, server_default="360"),
    Column("next_recompute_at", Timestamp),
    Column("last_computed_at", Timestamp),
    Column("size", BigInteger, nullable=False, server_default="0"),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

segment_members = Table(
    "segment_members",
    metadata,
    Column("segment_id", BigInteger, ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True),
    Column("customer_id", BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("since", Timestamp, nullable=False),
    Index("ix_segment_members_customer", "customer_id"),
)

audiences = Table(
    "audiences",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

audience_members = Table(
    "audience_members",
    metadata,
    Column("audience_id", BigInteger, ForeignKey("audiences.id", ondelete="CASCADE"), primary_key=True),
    Column("customer_id", BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("added_at", Timestamp, nullable=False),
    Index("ix_audience_members_customer", "customer_id"),
)

# How many customers a limit node has let through in a period (D4): one row per node and period key.
limit_counters = Table(
    "limit_counters",
    metadata,
    Column("campaign_id", BigInteger, primary_key=True),
    Column("node_id", String(64), primary_key=True),
    Column("period", String(16), primary_key=True),  # all | 2026-01-05 | 2026-W02 | 2026-01
    Column("passed", BigInteger, nullable=False),
)

# Requests for the loyalty adapter (the audience action's "send to loyalty program", bonus accruals).
loyalty_requests = Table(
    "loyalty_requests",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("campaign_id", BigInteger, nullable=False),
    Column("entry_id", BigInteger),  # null for requests outside a campaign (subscription sync)
    Column("node_id", String(64)),
    Column("customer_id", BigInteger, nullable=False),
    Column("payload", Json, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Timestamp),
    Column("leased_until", Timestamp),
    Column("finished_at", Timestamp),
    Column("response", Json),
    Column("error", Text),
    UniqueConstraint("entry_id", "node_id", "customer_id", name="uq_loyalty_requests_once"),
    _one_of("status", LoyaltyRequestStatus),
)


# -- messaging (channels, in-app, popups, managers) ---------------------------------------------------------

push_tokens = Table(
    "push_tokens",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("customer_id", BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("token", String(512), nullable=False, unique=True),
    Column("platform", String(16), nullable=False),  # fcm | apns | hms | rustore
    Column("device", String(200)),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", Timestamp, nullable=False),
    Index("ix_push_tokens_customer", "customer_id"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("campaign_id", BigInteger, nullable=False),
    Column("entry_id", BigInteger, nullable=False),
    Column("node_id", String(64), nullable=False),
    Column("customer_id", BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("image_url", Text),
    Column("link", Text),
    Column("category", String(64)),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp),
    Column("read_at", Timestamp),
    UniqueConstraint("entry_id", "node_id", "customer_id", name="uq_notifications_once"),
    Index("ix_notifications_customer", "customer_id", "created_at"),
)

popups = Table(
    "popups",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("campaign_id", BigInteger, nullable=False),
    Column("entry_id", BigInteger, nullable=False),
    Column("node_id", String(64), nullable=False),
    Column("customer_id", BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("app_action", String(64), nullable=False),
    Column("content", Json, nullable=False),
    Column("priority", Integer, nullable=False, server_default="0"),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("shown_at", Timestamp),
    UniqueConstraint("entry_id", "node_id", "customer_id", name="uq_popups_once"),
    Index("ix_popups_customer", "customer_id", "app_action"),
)

users = Table(
    "users",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("manager", Boolean, nullable=False, server_default="0"),  # Notify manager writes to them in turn (D8)
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("password_hash", String(200)),  # Argon2id (pwdlib); NULL: cannot sign in
    Column("created_at", Timestamp, nullable=False),
    _one_of("role", Role),
)

# A signed-in browser: the cookie holds a random token, the table its SHA-256 (a stolen table opens nothing).
sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),  # sent back in X-CSRF-Token by every change
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Index("ix_sessions_user_id", "user_id"),
)

# An integration's key: shown once; the table holds its SHA-256 and the first characters to recognise it by.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("scopes", Json, nullable=False),
    Column("created_by", BigInteger, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp),
)

# Failed sign-ins, counted per account and per address over a window to throttle guessing; old rows are pruned.
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False),
    Column("address", String(64), nullable=False),
    Column("at", Timestamp, nullable=False),
    Index("ix_sign_in_failures_email", "email", "at"),
    Index("ix_sign_in_failures_address", "address", "at"),
)


# Addresses no e-mail goes to any more: a hard bounce or a spam complaint reported by a provider or found in the
# bounce mailbox. Lower case; send actions drop a customer whose address is here (``suppressed_address``).
email_suppressions = Table(
    "email_suppressions",
    metadata,
    Column("address", String(320), primary_key=True),
    Column("reason", String(16), nullable=False),
    Column("source", String(32), nullable=False),  # ses, sendgrid, mailgun, postmark, mailbox
    Column("detail", Text, nullable=False, server_default=""),  # the provider's diagnostic, e.g. "550 5.1.1 …"
    Column("message_id", BigInteger),  # the message that bounced or was complained about, when known
    Column("created_at", Timestamp, nullable=False),
    _one_of("reason", SuppressionReason),
)

# Reports from providers and the bounce mailbox that were refused (malformed: a field missing, no failed recipient),
# kept as they arrived so that someone can see what was wrong; a report with a bad signature is not kept.
feedback_reports = Table(
    "feedback_reports",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("error", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("received_at", Timestamp, nullable=False),
    _one_of("outcome", FeedbackOutcome),
    Index("ix_feedback_reports_received", "received_at"),
)


# -- experiments, loyalty and polls ------------------------------------------------------------------------

# One row per A/B test node: where its current round stands (D2, D3).
ab_tests = Table(
    "ab_tests",
    metadata,
    Column("campaign_id", BigInteger, primary_key=True),
    Column("node_id", String(64), primary_key=True),
    Column("round", Integer, nullable=False, server_default="1"),
    Column("assigned", BigInteger, nullable=False, server_default="0"),  # test customers dealt this round
    Column("sample_full_at", Timestamp),
    Column("decide_at", Timestamp),
    Column("winner", Integer),  # variant index, once decided
    Column("restart_at", Timestamp),
)

ab_assignments = Table(
    "ab_assignments",
    metadata,
    Column("campaign_id", BigInteger, primary_key=True),
    Column("node_id", String(64), primary_key=True),
    Column("round", Integer, primary_key=True),
    Column("entry_id", BigInteger, primary_key=True),
    Column("customer_id", BigInteger, nullable=False),
    Column("variant", Integer, nullable=False),
    Column("assigned_at", Timestamp, nullable=False),
)

ab_decisions = Table(
    "ab_decisions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("campaign_id", BigInteger, nullable=False),
    Column("node_id", String(64), nullable=False),
    Column("round", Integer, nullable=False),
    Column("criterion", String(16), nullable=False),
    Column("winner", Integer, nullable=False),
    Column("counts", Json, nullable=False),  # per variant: customers, metric value
    Column("decided_at", Timestamp, nullable=False),
)

# An order or receipt credited to the most recent communication the customer received (last touch, 5.8).
attributions = Table(
    "attributions",
    metadata,
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    Column("message_id", BigInteger, nullable=False),
    Column("campaign_id", BigInteger, nullable=False),
    Column("node_id", String(64), nullable=False),
    Column("entry_id", BigInteger, nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("revenue", Numeric(18, 2), nullable=False),
    Column("attributed_at", Timestamp, nullable=False),
    Index("ix_attributions_campaign", "campaign_id", "node_id"),
)

points_ledger = Table(
    "points_ledger",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("customer_id", BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("amount", Numeric(18, 2), nullable=False),  # negative deducts
    Column("reason", Text),
    Column("campaign_id", BigInteger),
    Column("entry_id", BigInteger),
    Column("node_id", String(64)),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp),
    UniqueConstraint("entry_id", "node_id", "customer_id", name="uq_points_ledger_once"),
    Index("ix_points_ledger_customer", "customer_id", "created_at"),
)

polls = Table(
    "polls",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("code", String(32), nullable=False, unique=True),  # POLL-<id>
    Column("name", String(200), nullable=False),
    Column("questions", Json, nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("limit_type", String(16)),  # total | per_store (set by a Limit poll node, D5)
    Column("limit_value", Integer),
    Column("created_at", Timestamp, nullable=False),
)

poll_responses = Table(
    "poll_responses",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("poll_id", BigInteger, ForeignKey("polls.id", ondelete="CASCADE"), nullable=False),
    Column("customer_id", BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("store_code", String(64)),
    Column("answers", Json, nullable=False),
    Column("submitted_at", Timestamp, nullable=False),
    UniqueConstraint("poll_id", "customer_id", name="uq_poll_responses_once"),  # E20: one answer per customer
)

poll_invitations = Table(
    "poll_invitations",
    metadata,
    Column("poll_id", BigInteger, ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True),
    Column("customer_id", BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("campaign_id", BigInteger),
    Column("entry_id", BigInteger),
    Column("node_id", String(64)),
    Column("invited_at", Timestamp, nullable=False),
    Column("answered_at", Timestamp),
)

#: The tables a campaign run grows by a row or more per customer, from empty: the scheduler keeps their planner
#: statistics fresh (``Dialect.refresh_statistics``).
RUN_TABLES: tuple[str, ...] = tuple(
    table.name for table in (entries, journey_state, journey_trace, messages, mailbox, node_counters)
)
