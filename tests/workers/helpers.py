"""What the worker-process tests share: a `tidings worker` process, and a campaign many customers are enrolled in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tidings.model.customers import CustomerIn
from tidings.services import Services
from tidings.store.customers import upsert_customers

TIDINGS = Path(sys.executable).parent / "tidings"


def start_worker(url: str, log: Path, **settings: str) -> subprocess.Popen[bytes]:
    """A `tidings worker` on the database at ``url`` with ``settings`` (environment variables, e.g.
    ``TIDINGS_RUNTIME``), its output written to ``log``; no other ``TIDINGS_`` variable of this process leaks in."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")},
        "TIDINGS_DATABASE_URL": url,
        "TIDINGS_SECRET_KEY": "worker-test-secret-key-0123456789",  # a worker refuses to start without one
        "TIDINGS_TICK_SECONDS": "0.05",
        **settings,
    }
    with log.open("wb") as output:
        return subprocess.Popen([str(TIDINGS), "worker"], env=env, stdout=output, stderr=subprocess.STDOUT)


def enrol_in_filter_then_email(services: Services, rows: list[CustomerIn], name: str) -> dict[str, int]:
    """Add the customers and enrol them all in an active campaign: enrolment → a filter that passes everyone (f1)
    → send e-mail (e1). Their ids, by external id."""
    with services.db.engine.begin() as conn:
        ids = upsert_customers(conn, services.db.dialect, rows, services.clock.now())
    document = {
        "name": name,
        "trigger": {"id": "trigger", "type": "api_enrollment", "config": {}},
        "nodes": [
            {"id": "f1", "type": "filter_customers", "config": {"condition": {"all": []}}},
            {"id": "e1", "type": "send_email", "config": {"subject": "Hi", "body_html": "<p>Hi</p>"}},
        ],
        "edges": [{"source": "trigger", "target": "f1"}, {"source": "f1", "source_port": "yes", "target": "e1"}],
    }
    campaign_id = services.campaigns.create(document)["id"]
    services.campaigns.transition(campaign_id, "activate")
    assert services.campaigns.enroll(campaign_id, [row.external_id for row in rows], None)["entered"] == len(rows)
    return ids
