from __future__ import annotations

from tests.engine.helpers import add_customers, advance, campaign, email_node, mailbox_count, start, trace, where_is
from tidings.services import Services


def test_filter_routes_yes_and_no(services: Services) -> None:
    ids = add_customers(
        services,
        {"external_id": "riga", "email": "ann@example.com", "city": "Riga", "first_name": "Ann"},
        {"external_id": "oslo", "email": "bob@example.com", "city": "Oslo"},
    )
    document = campaign(
        {
            "id": "f1",
            "type": "filter_customers",
            "config": {"condition": {"all": [{"field": "city", "op": "equals", "value": "Riga"}]}},
        },
        email_node("yes_mail", "Hi {{ customer.first_name }}"),
        email_node("no_mail"),
        edges=[("trigger", "f1"), ("f1", "yes_mail", "yes"), ("f1", "no_mail", "no")],
    )
    campaign_id = start(services, document)
    result = services.campaigns.enroll(campaign_id, ["riga", "oslo"], None)
    assert result["entered"] == 2
    advance(services, minutes=1)
    assert trace(services, ids["riga"]) == [
        ("trigger", "performed", "out", None),
        ("f1", "performed", "yes", None),
        ("yes_mail", "performed", "out", None),
    ]
    assert trace(services, ids["oslo"])[1] == ("f1", "performed", "no", None)
    assert where_is(services, ids["riga"]) == []
    assert mailbox_count(services, "ann@example.com") == 1
    assert mailbox_count(services, "bob@example.com") == 1
