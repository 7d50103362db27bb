"""Demo data: deterministic customers in four Nordic-Baltic cities, two example campaigns, a few registrations.

``load_demo`` is idempotent: customers are upserted by external id (``demo-00000``, …), an example campaign is
reused while one of that name is draft, active or paused (and activated), and a customer's "registration" event
is posted only when the run creates that customer. The same seed and the same day give the same data.
"""

from __future__ import annotations

import random
import secrets
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tidings.model.custom_fields import CustomFieldIn
from tidings.model.customers import CustomerIn
from tidings.model.users import UserIn
from tidings.services import Services
from tidings.store.custom_fields import insert_field
from tidings.store.customers import ids_by_external, upsert_customers
from tidings.store.events import NewEvent, insert_events
from tidings.store.users import get_user_by_email

WELCOME = "Welcome series"
NEWSLETTER = "Monthly newsletter"
REGISTRATION = "registration"
EXTERNAL_PREFIX = "demo-"
DEMO_ADMIN = "admin@demo.tidings.test"
_CHUNK = 5_000


@dataclass(frozen=True)
class _Country:
    timezone: str
    phone_prefix: str  # the international prefix and the first digit of a mobile number
    store: str
    first_female: tuple[str, ...]
    first_male: tuple[str, ...]
    last: tuple[tuple[str, str], ...]  # (male form, female form)


CITIES: dict[str, _Country] = {
    "Riga": _Country(
        "Europe/Riga",
        "+3712",
        "RIX-1",
        ("Anna", "Līga", "Ilze", "Kristīne", "Laura", "Marta"),
        ("Jānis", "Andris", "Mārtiņš", "Kārlis", "Edgars", "Roberts"),
        (("Bērziņš", "Bērziņa"), ("Kalniņš", "Kalniņa"), ("Ozols", "Ozola"), ("Jansons", "Jansone")),
    ),
    "Tallinn": _Country(
        "Europe/Tallinn",
        "+3725",
        "TLL-1",
        ("Kadri", "Liis", "Mari", "Triin", "Kati"),
        ("Jaan", "Martin", "Rasmus", "Andres", "Toomas"),
        (("Tamm", "Tamm"), ("Saar", "Saar"), ("Sepp", "Sepp"), ("Mägi", "Mägi"), ("Kask", "Kask")),
    ),
    "Vilnius": _Country(
        "Europe/Vilnius",
        "+3706",
        "VNO-1",
        ("Rūta", "Eglė", "Gintarė", "Ieva"),
        ("Tomas", "Mantas", "Lukas", "Paulius"),
        (("Kazlauskas", "Kazlauskienė"), ("Jankauskas", "Jankauskienė"), ("Petrauskas", "Petrauskienė")),
    ),
    "Oslo": _Country(
        "Europe/Oslo",
        "+474",
        "OSL-1",
        ("Ingrid", "Nora", "Sofie", "Emma"),
        ("Lars", "Ole", "Jakob", "Henrik"),
        (("Hansen", "Hansen"), ("Johansen", "Johansen"), ("Olsen", "Olsen"), ("Berg", "Berg")),
    ),
}
LEVELS = ("bronze", "silver", "gold")


@dataclass(frozen=True)
class DemoReport:
    customers: int  # demo customers written (created or refreshed)
    new_customers: int  # of which this run created
    events: int  # registration events this run posted
    campaigns: dict[str, int] = field(default_factory=dict)  # example campaign name → id
    created_campaigns: list[str] = field(default_factory=list)  # the ones this run created


DEMO_FIELDS = (
    CustomFieldIn(code="loyalty_level", name="Loyalty level", type="text"),
    CustomFieldIn(code="demo", name="Demo customer", type="boolean"),
)


def load_demo(services: Services, *, customers: int = 200, seed: int = 7) -> DemoReport:
    """Load (or refresh) the demo data; running it again adds nothing new."""
    if customers < 0:
        raise ValueError(f"customers must be 0 or more, got {customers}")
    campaigns, created = _ensure_campaigns(services)
    now = services.clock.now()
    people = demo_customers(customers, seed=seed, today=now.replace(hour=0, minute=0, second=0, microsecond=0))
    new = posted = 0
    with services.db.engine.begin() as conn:  # customers and their registrations commit together
        for declared in DEMO_FIELDS:  # attributes are typed: declare them before customers use them
            conn.execute(insert_field(services.db.dialect, declared, now))
        for start in range(0, len(people), _CHUNK):
            chunk = people[start : start + _CHUNK]
            existing = set(conn.execute(ids_by_external([row.external_id for row in chunk])).scalars())
            # historic people: only the recent registrations below are events (the welcome series fires for them)
            ids = upsert_customers(conn, services.db.dialect, chunk, now, record_events=False)
            fresh = [row for row in chunk if row.external_id not in existing]
            new += len(fresh)
            registrations = [
                NewEvent(ids[row.external_id], REGISTRATION, {"source": "demo"}, occurred_at=row.registered_at)
                for row in fresh
                if _recent(row)
            ]
            posted += insert_events(conn, registrations, str(uuid.uuid4()), now)
    return DemoReport(len(people), new, posted, campaigns, created)


def demo_admin(services: Services) -> str:
    """Create the demo admin, or give it a new password; answer the password (printed once by ``run --demo``:
    only its hash is kept, so each run makes a fresh one and the demo can always be signed in to)."""
    password = secrets.token_urlsafe(12)
    with services.db.engine.begin() as conn:
        existing = conn.execute(get_user_by_email(DEMO_ADMIN)).mappings().first()
        if existing is None:
            user = UserIn(email=DEMO_ADMIN, name="Demo admin", role="admin", password=password)
            services.accounts.create_user(conn, user)
        else:
            services.accounts.update_user(conn, existing["id"], {"password": password, "active": True, "role": "admin"})
    return password


# -- customers ---------------------------------------------------------------------------------------------
def demo_customers(count: int, *, seed: int, today: datetime) -> list[CustomerIn]:
    """``count`` deterministic customers; customer ``i`` depends only on ``seed``, ``i`` and ``today``."""
    return [_customer(index, seed, today) for index in range(count)]


def _customer(index: int, seed: int, today: datetime) -> CustomerIn:
    rng = random.Random(f"tidings-demo:{seed}:{index}")
    city = rng.choice(sorted(CITIES))
    country = CITIES[city]
    female = rng.random() < 0.55
    first = rng.choice(country.first_female if female else country.first_male)
    last = rng.choice(country.last)[1 if female else 0]
    local = f"{_ascii(first)}.{_ascii(last)}{index}"
    phone = f"{country.phone_prefix}{rng.randrange(10**6, 10**7)}" if rng.random() < 0.6 else None
    birthday = (today - timedelta(days=rng.randint(18 * 365, 70 * 365))).date() if rng.random() < 0.7 else None
    if index % 20 == 0:  # a recent registration: it gets a "registration" event for the Welcome series
        registered_at = today - timedelta(minutes=rng.randint(1, 24 * 60))
    else:
        registered_at = today - timedelta(days=rng.randint(2, 730), minutes=rng.randint(0, 24 * 60 - 1))
    invalid_email = index % 31 == 7
    unsubscribed = index % 13 == 4
    subscriptions: dict[str, bool] = {"email": not unsubscribed}
    if phone is not None:
        subscriptions["sms"] = rng.random() < 0.8
    return CustomerIn.model_validate(
        {
            "external_id": f"{EXTERNAL_PREFIX}{index:05d}",
            "email": f"{local}.example.com" if invalid_email else f"{local}@example.com",
            "phone": phone,
            "first_name": first,
            "last_name": last,
            "birthday": birthday,
            "gender": "female" if female else "male",
            "city": city,
            "timezone": country.timezone,
            "registered_at": registered_at,
            "store_code": country.store,
            "attributes": {"loyalty_level": rng.choice(LEVELS), "demo": True},
            "subscriptions": subscriptions,
        }
    )


def _recent(row: CustomerIn) -> bool:
    return int(row.external_id.removeprefix(EXTERNAL_PREFIX)) % 20 == 0


def _ascii(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


# -- campaigns ---------------------------------------------------------------------------------------------
def welcome_document() -> dict[str, Any]:
    """Registration → Riga and Tallinn get a welcome at once; everyone else a day later."""
    body = (
        "<h1>Welcome, {{ customer.first_name }}!</h1><p>Thank you for joining us in {{ customer.city }}. "
        "Your loyalty level: {{ customer.loyalty_level }}.</p>"
    )
    return {
        "name": WELCOME,
        "settings": {"attribution_days": 10},
        "trigger": {"id": "trigger", "type": "event_occurred", "config": {"event": REGISTRATION}},
        "nodes": [
            {
                "id": "in_baltic_capitals",
                "type": "filter_customers",
                "title": "Riga or Tallinn?",
                "config": {"condition": {"all": [{"field": "city", "op": "in", "value": ["Riga", "Tallinn"]}]}},
            },
            {
                "id": "welcome_now",
                "type": "send_email",
                "title": "Welcome e-mail",
                "config": {"subject": "Welcome, {{ customer.first_name }}!", "body_html": body},
            },
            {"id": "wait_a_day", "type": "wait", "title": "Wait 1 day", "config": {"amount": 1, "unit": "days"}},
            {
                "id": "welcome_later",
                "type": "send_email",
                "title": "Welcome e-mail (next day)",
                "config": {"subject": "Good to have you, {{ customer.first_name }}", "body_html": body},
            },
        ],
        "edges": [
            {"source": "trigger", "target": "in_baltic_capitals"},
            {"source": "in_baltic_capitals", "source_port": "yes", "target": "welcome_now"},
            {"source": "in_baltic_capitals", "source_port": "no", "target": "wait_a_day"},
            {"source": "wait_a_day", "target": "welcome_later"},
        ],
        "layout": {
            "trigger": {"x": 0, "y": 120},
            "in_baltic_capitals": {"x": 260, "y": 120},
            "welcome_now": {"x": 540, "y": 40},
            "wait_a_day": {"x": 540, "y": 200},
            "welcome_later": {"x": 800, "y": 200},
        },
    }


def newsletter_document() -> dict[str, Any]:
    """The 1st of every month at 10:00 (account time zone): everyone subscribed to e-mail gets the news."""
    return {
        "name": NEWSLETTER,
        "trigger": {
            "id": "trigger",
            "type": "repeated_date",
            "config": {"frequency": "monthly", "month_day": 1, "hour": 10},
        },
        "nodes": [
            {
                "id": "subscribed",
                "type": "filter_customers",
                "title": "Subscribed to e-mail",
                "config": {"condition": {"subscription": {"channel": "email"}, "op": "subscribed"}},
            },
            {
                "id": "newsletter",
                "type": "send_email",
                "title": "Newsletter",
                "config": {
                    "subject": "News for {{ customer.city }} this month",
                    "body_html": "<p>Hi {{ customer.first_name }}, here is what is new this month.</p>",
                },
            },
        ],
        "edges": [
            {"source": "trigger", "target": "subscribed"},
            {"source": "subscribed", "source_port": "yes", "target": "newsletter"},
        ],
        "layout": {
            "trigger": {"x": 0, "y": 80},
            "subscribed": {"x": 260, "y": 80},
            "newsletter": {"x": 540, "y": 40},
        },
    }


def _ensure_campaigns(services: Services) -> tuple[dict[str, int], list[str]]:
    """Reuse an example campaign that is draft, active or paused (activating it); otherwise create one."""
    existing: dict[str, dict[str, Any]] = {}
    for summary in services.campaigns.list_all():
        if summary["status"] in ("draft", "active", "paused"):
            existing.setdefault(summary["name"], summary)
    ids: dict[str, int] = {}
    created: list[str] = []
    for document in _documents():
        name = document["name"]
        found = existing.get(name)
        if found is None:
            campaign_id = int(services.campaigns.create(document)["id"])
            status = "draft"
            created.append(name)
        else:
            campaign_id, status = int(found["id"]), found["status"]
        if status != "active":
            services.campaigns.transition(campaign_id, "activate")
        ids[name] = campaign_id
    return ids, created


def _documents() -> Sequence[dict[str, Any]]:
    return (welcome_document(), newsletter_document())
