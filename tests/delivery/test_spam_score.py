"""Every e-mail the demo and the docs' example campaigns produce, delivered over SMTP (aiosmtpd on loopback) with
DKIM, scored by Debian's SpamAssassin with local tests only (``-L``): each must score below 1.0.

All messages go through one ``spamassassin --mbox`` process (it takes seconds to start). ``.ci/run`` installs the
package; without it this test fails, never skips.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.delivery.conftest import Received, SmtpServer
from tests.delivery.test_dkim import keygen
from tests.engine.helpers import add_customers, advance, advance_to, post_events, start
from tidings.core.clock import ManualClock
from tidings.demo import load_demo
from tidings.services import Services
from tidings.settings import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"
LIMIT = 1.0
_STATUS = re.compile(rb"^X-Spam-Status: (?:Yes|No), score=(-?[0-9.]+) required=\S+ tests=(.*?)(?=\n\S)", re.M | re.S)
_MESSAGE_ID = re.compile(rb"^Message-ID: (.*)$", re.M | re.I)
SEPARATOR = b"From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n"
_REPORT = re.compile(rb"Content analysis details:.*?(?=\n\n|\Z)", re.S)


@pytest.fixture
def sending(database_url: str, clock: ManualClock, smtp_server: SmtpServer, tmp_path: Path) -> Iterator[Services]:
    """Services that deliver over SMTP with the demo sender's domain signing its mail, as in production."""
    _record, key = keygen(tmp_path, "tidings.local", "s1")
    settings = Settings(
        database_url=database_url,
        clock="manual",
        email_provider="smtp",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        public_url="https://tidings.example.com",
        dkim_keys={"tidings.local": {"selector": "s1", "private_key_file": str(key)}},
    )
    built = Services.build(settings, clock=clock)
    yield built
    built.close()


def spam_scores(messages: list[bytes]) -> list[tuple[float, str, str]]:
    """(score, rules that fired, the report) of each message, in order, from one SpamAssassin process (which
    answers an mbox in an order of its own: its answers are matched to the messages by their Message-ID)."""
    spamassassin = shutil.which("spamassassin")
    assert spamassassin, "SpamAssassin is missing: `apt-get install spamassassin` (.ci/run installs it)"
    mbox = b"".join(
        SEPARATOR + re.sub(rb"(?m)^(>*From )", rb">\1", raw.replace(b"\r\n", b"\n")) + b"\n" for raw in messages
    )
    done = subprocess.run(
        [spamassassin, "-L", "--mbox", "-t"],
        input=mbox,
        capture_output=True,
        timeout=300,
        check=True,
    )
    answers: dict[bytes, tuple[float, str, str]] = {}
    for answer in done.stdout.split(SEPARATOR)[1:]:
        message_id, status, report = _MESSAGE_ID.search(answer), _STATUS.search(answer), _REPORT.search(answer)
        assert message_id and status and report, answer.decode(errors="replace")[:2000]
        tests = re.sub(rb",\s+", b",", status.group(2)).split()[0].decode()
        answers[message_id.group(1).strip()] = (float(status.group(1)), tests, report.group(0).decode())
    ids = [_MESSAGE_ID.search(raw.replace(b"\r\n", b"\n")) for raw in messages]
    assert all(ids) and len(answers) == len(messages), done.stderr.decode()
    return [answers[match.group(1).strip()] for match in ids if match]


def test_every_demo_and_docs_email_scores_below_one(
    sending: Services, smtp_server: SmtpServer, clock: ManualClock
) -> None:
    services = sending
    load_demo(services, customers=40)  # two recent registrations: the Welcome series
    for path in sorted((DOCS / "examples").glob("*.json")):
        document = json.loads(path.read_text())
        document["name"] = f"{document['name']} (docs/examples/{path.name})"
        campaign_id = start(services, document)
        if document["trigger"]["type"] == "api_enrollment":
            add_customers(services, {"external_id": f"docs-{path.stem}", "email": "reader@example.com"})
            services.campaigns.enroll(campaign_id, [f"docs-{path.stem}"], None)
    reader = {"external_id": "docs-riga", "email": "riga@example.com", "first_name": "Ilze", "city": "Riga"}
    post_events(services, (add_customers(services, reader)["docs-riga"], "registration", {}))
    advance(services, minutes=1)
    advance(services, days=1, hours=2)  # the Welcome series' next-day e-mail, the docs example's hour wait
    advance_to(services, clock.now().replace(month=2, day=1, hour=12))  # the monthly newsletter

    received: list[Received] = smtp_server.received
    nodes = {r.message["Feedback-ID"].split(":")[1] for r in received}
    assert {"welcome_now", "welcome_later", "newsletter", "e1", "spring"} <= nodes, nodes  # demo and docs
    assert all(r.raw.startswith(b"DKIM-Signature:") for r in received)

    scored = spam_scores([r.raw for r in received])
    too_high = [
        f"{r.message['Subject']} (node {r.message['Feedback-ID']}) scored {score}: {tests}\n{report}"
        for r, (score, tests, report) in zip(received, scored, strict=True)
        if score >= LIMIT
    ]
    assert not too_high, "\n\n".join(too_high)
